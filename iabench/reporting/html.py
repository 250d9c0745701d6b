"""report.md and a self-contained report.html (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

HOW_TO_READ = {
    "insertion": "probability of the target class as the most salient pixels are inserted into a blank "
                 "(mean) image; area under the curve, higher is better",
    "deletion": "probability of the target class as the most salient pixels are removed; area under the "
                "curve, lower is better",
    "morf": "target probability as the most relevant patches are removed, 10% at a time; lower is better",
    "lerf": "target probability as the least relevant patches are removed, 10% at a time; higher is better",
    "accuracy": "top-1 accuracy of the model's predictor on the evaluated images",
    "agreement": "how often IA-ViT's interpreter predicts the same class as its predictor",
}
FIGURE_NOTES = {
    "curves": "Mean curve per explainer with its 95% confidence band (bootstrap over images).",
    "bars": "Mean per explainer and model with 95% bootstrap confidence intervals.",
    "heatmaps": "Rows: evaluated images; columns: explainers, each map min-max scaled and overlaid on the image.",
    "training": "Loss terms and validation accuracy / agreement per epoch.",
}


def _pivot(summary: pd.DataFrame) -> pd.DataFrame:
    cells = summary.assign(cell=[f"{m:.4f} [{lo:.4f}, {hi:.4f}]" if pd.notna(m) else "-"
                                 for m, lo, hi in zip(summary["mean"], summary.ci_low, summary.ci_high)])
    return cells.pivot_table(index=["model", "explainer"], columns="metric", values="cell", aggfunc="first").fillna("")


def write_reports(run_dir: Path, summary: pd.DataFrame, tests: pd.DataFrame, figures: dict[str, list[Path]],
                  metrics_info: dict, explainers_info: dict, manifest: dict, auc_note: str) -> list[Path]:
    table = _pivot(summary)
    facts = [
        f"suite `{manifest.get('suite', '?')}`, run `{manifest.get('run_id', '?')}`, config hash "
        f"`{manifest.get('config_hash', '?')}`, device `{manifest.get('device', '?')}`, "
        f"samples {manifest.get('samples', '?')}",
        f"git commit `{manifest.get('git_commit', '') or 'unknown'}`; versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("versions", {}).items())),
        "timings (s): " + ", ".join(f"{k} {v}" for k, v in manifest.get("timings", {}).items()),
    ]
    for name, model in sorted(manifest.get("models", {}).items()):
        shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(model.get("metrics", {}).items()) if isinstance(v, float))
        facts.append(f"model {name}: {shown}")
    reading = [f"- **{name}** ({'↑' if info.get('direction') == 'higher' else '↓'}): "
               f"{HOW_TO_READ.get(info.get('name', name), info.get('display_name', name))}. {info.get('reference', '')}"
               for name, info in metrics_info.items()]
    significant = tests[tests.significant] if not tests.empty else tests

    md = [f"# iabench report: {manifest.get('suite', run_dir.parent.name)}", "", *[f"- {f}" for f in facts], "",
          "## Summary", "", "Mean [95% bootstrap CI] per model x explainer x metric (summary.csv; LaTeX in "
          "summary.tex). " + auc_note, "", table.to_markdown() if _has_tabulate() else table.to_string(), "",
          "## How to read the metrics", "", *reading, "",
          "## Significance", "", "Paired Wilcoxon signed-rank tests against IA-ViT's interpreter, Holm-corrected "
          f"per metric (significance.csv): {len(significant)} of {len(tests)} comparisons significant at 0.05.", ""]
    for kind, paths in figures.items():
        md += [f"## Figures: {kind}", "", FIGURE_NOTES.get(kind, ""), ""]
        md += [f"![{p.stem}](plots/{p.name})" for p in paths if p.suffix == ".png"] + [""]
    (run_dir / "report.md").write_text("\n".join(md) + "\n")

    def img(path: Path) -> str:
        data = base64.b64encode(path.read_bytes()).decode()
        return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}" style="max-width:100%">'

    parts = [f"<h1>iabench report: {html.escape(str(manifest.get('suite', '')))}</h1>",
             "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>",
             "<h2>Summary</h2>", f"<p>Mean [95% bootstrap CI]. {html.escape(auc_note)}</p>", table.to_html(),
             "<h2>How to read the metrics</h2>",
             "<ul>" + "".join(f"<li>{html.escape(r[2:])}</li>" for r in reading) + "</ul>",
             "<h2>Significance</h2>",
             "<p>Paired Wilcoxon signed-rank tests against IA-ViT's interpreter, Holm-corrected per metric.</p>",
             tests.to_html(index=False, float_format=lambda v: f"{v:.4g}")]
    if explainers_info:
        parts += ["<h2>Explainers</h2>", pd.DataFrame(explainers_info).T.to_html()]
    for kind, paths in figures.items():
        parts += [f"<h2>Figures: {kind}</h2>", f"<p>{html.escape(FIGURE_NOTES.get(kind, ''))}</p>"]
        parts += [img(p) for p in paths if p.suffix == ".png"]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>iabench report</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:1200px} table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>" + "\n".join(parts) + "</body></html>")
    (run_dir / "report.html").write_text(page)
    return [run_dir / "report.md", run_dir / "report.html"]


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
