"""report.md and a self-contained report.html (figures embedded as base64 PNG, tables as HTML).

Both pages hold the same content: the run's facts from manifest.json, the verdict (when the run has one),
the summary table (best per metric in bold), how to read each metric, the significance tests, the explainers
and the figures, each with one line on how to read it.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from .bias import MARK
from .bias import NOTE as BIAS_NOTE
from .tables import DECIMALS, best_rows

# One line per metric (keyed by the label in results.csv, then by the metric's base name): what the number
# measures and which way is better. Metrics not listed fall back to metrics.json's display_name.
HOW_TO_READ = {
    "insertion": "target-class probability as the most salient pixels are inserted into a blank (mean) image; "
                 "area under the curve, higher is better",
    "deletion": "target-class probability as the most salient pixels are removed; area under the curve, "
                "lower is better",
    "morf": "target probability as the most relevant patches are removed, 10% at a time; lower is better",
    "lerf": "target probability as the least relevant patches are removed, 10% at a time; higher is better",
    "accuracy": "top-1 accuracy of the model's predictor on the evaluated images; higher is better",
    "agreement": "share of images where IA-ViT's interpreter predicts the same class as its predictor; "
                 "higher is better",
    "agreement-kl": "KL(predictor || interpreter) of the two softmax outputs; lower is better",
    "agreement-inter-accuracy": "top-1 accuracy of IA-ViT's interpreter itself; higher is better",
    "auc": "ROC AUC of the saliency as a detector of the ground-truth mask; higher is better",
    "pointing-game": "share of images whose most salient pixel lies in the ground-truth mask; higher is better",
    "relevance-mass-accuracy": "share of attribution mass inside the ground-truth mask; higher is better",
    "relevance-rank-accuracy": "share of the top-K salient pixels inside the ground-truth mask; higher is better",
    "complexity": "entropy of the attribution; lower is simpler",
    "sparseness": "Gini index of the attribution; higher is sparser",
    "faithfulness-correlation": "correlation of attribution sums with output drops on random subsets; "
                                "higher is better",
    "monotonicity-correlation": "correlation of attributions with the output variance when perturbed; "
                                "higher is better",
    "irof": "area over the curve as superpixels are removed most relevant first; higher is better",
    "pixel-flipping": "target output as pixels are flipped most relevant first; lower is better",
    "region-perturbation": "mean output drop as regions are perturbed most relevant first (AOPC); higher is better",
    "road": "target output as pixels are removed and imputed, most relevant first; lower is better",
    "max-sensitivity": "largest change of the explanation under small input noise; lower is more robust",
    "mprt": "similarity between explanations of the trained and a randomised model; lower passes the check",
    "random-logit": "similarity between explanations of the target and a random class; lower is better",
}
CURVE_NOTES = {
    "insertion": "Insertion curves: target-class probability as the most salient pixels are inserted; a curve "
                 "that rises early (higher) is better.",
    "deletion": "Deletion curves: target-class probability as the most salient pixels are removed; a curve that "
                "falls early (lower) is better.",
    "morf": "MoRF curves: target score as the most relevant patches are removed; lower is better.",
    "lerf": "LeRF curves: target score as the least relevant patches are removed; higher is better.",
}
FIGURE_NOTES = {
    "curves": "Mean curve per explainer with its 95% bootstrap confidence band over samples and seeds, one panel "
              "per model.",
    "bars": "Mean score per explainer and model with its 95% bootstrap CI (summary.csv); the panel title says "
            "which way is better.",
    "heatmaps": "Rows: evaluated images; columns: explainers, each map min-max scaled per image and overlaid "
                "(red = most salient).",
    "training": "Per model: loss terms (left) and validation accuracy / agreement (right) per epoch; mean over "
                "seeds with a 95% CI band when there are several seeds.",
}
SIGNIFICANCE_NOTE = ("Each (model, explainer) against IA-ViT's interpreter (ia-vit/ia-vit), paired by (seed, sample). "
                     "unit seed (>= 3 common seeds): paired t-test of the per-seed means, n = seeds; unit image "
                     "(fewer seeds): two-sided Wilcoxon signed-rank test over (seed, sample) pairs, n = pairs, "
                     "blind to training variance. Holm-corrected within each metric; mean_diff = mean over the "
                     "unit's pairs of method - reference, median_diff = median over image pairs; better = the side "
                     "the metric's direction favours; significant = p_holm < 0.05. Identical scores give p = 1.")


def embed_png(path: Path) -> str:
    """An <img> holding the PNG itself: report.html opens offline, alone."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _figure_note(path: Path) -> str:
    if path.stem.startswith("curves_"):
        return CURVE_NOTES.get(path.stem.removeprefix("curves_"), FIGURE_NOTES["curves"])
    if path.stem.startswith("heatmaps_"):
        return f"Model {path.stem.removeprefix('heatmaps_')}. " + FIGURE_NOTES["heatmaps"]
    return FIGURE_NOTES["bars"] if path.stem == "auc_bars" else FIGURE_NOTES.get(path.stem, "")


def summary_cells(summary: pd.DataFrame, metric_order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary as a (model, explainer) x metric table of "mean [low, high]" text, and a same-shaped
    boolean table marking the best cell per metric (as in summary.tex)."""
    metrics = [m for m in metric_order if m in set(summary.metric)]
    rows = summary[["model", "explainer"]].drop_duplicates().sort_values(["model", "explainer"])
    index = pd.MultiIndex.from_frame(rows)
    text = pd.DataFrame("", index=index, columns=metrics)
    bold = pd.DataFrame(False, index=index, columns=metrics)
    for metric in metrics:
        best = best_rows(summary, metric)
        for r in summary[summary.metric == metric].itertuples():
            key = (r.model, r.explainer)
            text.loc[key, metric] = (f"{r.mean:.{DECIMALS}f} [{r.ci_low:.{DECIMALS}f}, "
                                     f"{r.ci_high:.{DECIMALS}f}]" if pd.notna(r.mean) else "failed")
            if getattr(r, "n_seeds", 0) >= 2 and pd.notna(r.seed_ci_low):  # training uncertainty beside image's
                text.loc[key, metric] += f" · seeds [{r.seed_ci_low:.{DECIMALS}f}, {r.seed_ci_high:.{DECIMALS}f}]"
            if r.n_failed:
                text.loc[key, metric] += f" ({r.n_failed} failed)"
            if getattr(r, "baseline_is_substrate", False):
                text.loc[key, metric] += f" {MARK}"
            bold.loc[key, metric] = key in best
    return text, bold


def markdown_table(frame: pd.DataFrame, bold: pd.DataFrame | None = None) -> str:
    """A GitHub pipe table. By hand: DataFrame.to_markdown needs tabulate, which is not a dependency."""
    index_names = [n or "" for n in frame.index.names] if frame.index.nlevels > 1 or frame.index.name else []
    header = index_names + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, (key, row) in enumerate(frame.iterrows()):
        keys = list(key) if isinstance(key, tuple) else ([key] if index_names else [])
        cells = []
        for j, value in enumerate(row):
            cell = str(value).replace("|", "\\|")
            cells.append(f"**{cell}**" if bold is not None and bold.iat[i, j] and cell else cell)
        lines.append("| " + " | ".join([str(k) for k in keys] + cells) + " |")
    return "\n".join(lines)


def html_table(frame: pd.DataFrame, bold: pd.DataFrame | None = None) -> str:
    """An HTML table with escaped cells and the bold cells in <b>."""
    index_names = [n or "" for n in frame.index.names] if frame.index.nlevels > 1 or frame.index.name else []
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in index_names + list(frame.columns))
    body = []
    for i, (key, row) in enumerate(frame.iterrows()):
        keys = list(key) if isinstance(key, tuple) else ([key] if index_names else [])
        cells = [f"<th>{html.escape(str(k))}</th>" for k in keys]
        for j, value in enumerate(row):
            cell = html.escape(str(value))
            cells.append(f"<td><b>{cell}</b></td>" if bold is not None and bold.iat[i, j] else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def inline_html(markdown: str) -> str:
    """Escaped HTML of a line of markdown with the few marks these pages use (**bold**, `code`)."""
    out = html.escape(markdown)
    for mark, tag in (("**", "b"), ("`", "code")):
        parts = out.split(mark)
        out = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(parts))
    return out


def _facts(manifest: dict, run_dir: Path) -> list[str]:
    facts = [
        f"suite `{manifest.get('suite', run_dir.parent.name)}`, run `{manifest.get('run_id', run_dir.name)}`, "
        f"config hash `{manifest.get('config_hash', '?')}`, device `{manifest.get('device', '?')}`, "
        f"samples {manifest.get('samples', '?')}",
        f"git commit `{manifest.get('git_commit') or 'unknown'}`",
    ]
    if manifest.get("versions"):
        facts.append("versions: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest["versions"].items())))
    if manifest.get("timings"):
        facts.append("timings (s): " + ", ".join(f"{k} {v}" for k, v in manifest["timings"].items()))
    config = manifest.get("config") or {}
    shown = {}
    for key in ("preset", "seeds", "models", "samples", "explainers", "metrics"):
        if key in config:  # suites list explainers/metrics as {"label": ..., "options": ...}: show the labels
            value = config[key]
            if isinstance(value, list):
                value = ", ".join(str(v.get("label", v.get("name", v)) if isinstance(v, dict) else v) for v in value)
            shown[key] = value
    if shown:
        facts.append("config: " + "; ".join(f"{k} {v}" for k, v in shown.items()))
    for name, model in sorted((manifest.get("models") or {}).items()):
        values = ", ".join(f"{k} {v:.4f}" for k, v in sorted((model.get("metrics") or {}).items())
                           if isinstance(v, float))
        facts.append(f"model {name}: {values}" if values else f"model {name}")
    return facts


def write_reports(run_dir: Path, summary: pd.DataFrame, tests: pd.DataFrame, figures: dict[str, list[Path]],
                  metrics_info: dict, explainers_info: dict, manifest: dict, auc_note: str,
                  metric_order: list[str] | None = None, verdict_md: str = "", verdict_html: str = "",
                  trust_md: str = "", trust_html: str = "") -> list[Path]:
    """Write report.md and report.html, the verdict (markdown and HTML body, when given) first and the ranking's
    trust section (when given) after the significance tests; returns their paths."""
    metric_order = metric_order or sorted(set(summary.metric))
    # two tables, as in summary.tex: explanation metrics (model x explainer) and model-level metrics (model)
    tables = [summary_cells(part, metric_order) for part in (summary[summary.explainer != "-"],
                                                              summary[summary.explainer == "-"]) if not part.empty]
    facts = _facts(manifest, run_dir)
    reading = []
    for name in metric_order:
        info = metrics_info.get(name, {})
        arrow = "↓" if info.get("direction") == "lower" else "↑"
        line = HOW_TO_READ.get(name) or HOW_TO_READ.get(info.get("name", ""), info.get("display_name", name))
        reference = f" ({info['reference']})" if info.get("reference") else ""
        reading.append(f"**{name}** {arrow}: {line}.{reference}")
    failed = summary[summary.n_failed > 0]
    failure_line = ("No failed explanations." if failed.empty else
                    f"{int(failed.n_failed.sum())} scores are NaN (failed explanations), excluded from the "
                    "statistics and counted in summary.csv's n_failed: " +
                    ", ".join(f"{r.model}/{r.explainer}/{r.metric} {r.n_failed}" for r in failed.itertuples()))
    n_significant = int(tests.significant.sum()) if not tests.empty else 0
    tests_shown = tests.assign(**{c: tests[c].map(lambda v: f"{v:.4g}") for c in
                                  ("statistic", "p_value", "p_holm", "median_diff")}).set_index(
        ["metric", "model", "explainer"]) if not tests.empty else tests
    explainers = pd.DataFrame(explainers_info).T.rename_axis("explainer") if explainers_info else None
    summary_note = ("Mean [95% bootstrap CI of the mean] over samples and seeds per model x explainer x metric "
                    "(summary.csv; LaTeX: summary.tex); best per metric in bold, per its direction. With >= 2 seeds, "
                    "'· seeds [low, high]' is the 95% Student-t interval across the per-seed means (df = seeds - 1): "
                    "the uncertainty due to training. Rows with explainer '-' (second table) are model-level "
                    "metrics. " + auc_note)
    if "baseline_is_substrate" in summary and summary.baseline_is_substrate.any():
        summary_note += " " + BIAS_NOTE

    md = [f"# iabench report: {manifest.get('suite', run_dir.parent.name)}", "", *[f"- {f}" for f in facts], "",
          *(["## Verdict", "", verdict_md.rstrip("\n"), ""] if verdict_md else []), "## Summary", "", summary_note, "",
          *[line for text, bold in tables for line in (markdown_table(text, bold), "")], failure_line, "",
          "## How to read the metrics", "", *[f"- {r}" for r in reading], "",
          "## Significance", "", f"{SIGNIFICANCE_NOTE} {n_significant} of {len(tests)} comparisons significant "
          "(significance.csv).", ""]
    if not tests.empty:
        md += [markdown_table(tests_shown), ""]
    if trust_md:
        md += [trust_md, ""]
    if explainers is not None:
        md += ["## Explainers", "", markdown_table(explainers), ""]
    for kind, paths in figures.items():
        if not any(p.suffix == ".png" for p in paths):
            continue
        md += [f"## Figures: {kind}", ""]
        for p in paths:
            if p.suffix == ".png":
                md += [_figure_note(p), "", f"![{p.stem}]({p.relative_to(run_dir).as_posix()})", ""]
    (run_dir / "report.md").write_text("\n".join(md) + "\n")

    parts = [f"<h1>iabench report: {html.escape(str(manifest.get('suite', run_dir.parent.name)))}</h1>",
             "<ul>" + "".join(f"<li>{inline_html(f)}</li>" for f in facts) + "</ul>",
             *(["<h2>Verdict</h2>", verdict_html] if verdict_html else []),
             "<h2>Summary</h2>", f"<p>{html.escape(summary_note)}</p>", *[html_table(t, b) for t, b in tables],
             f"<p>{html.escape(failure_line)}</p>",
             "<h2>How to read the metrics</h2>",
             "<ul>" + "".join(f"<li>{inline_html(r)}</li>" for r in reading) + "</ul>",
             "<h2>Significance</h2>",
             f"<p>{html.escape(SIGNIFICANCE_NOTE)} {n_significant} of {len(tests)} comparisons significant.</p>"]
    if not tests.empty:
        parts.append(html_table(tests_shown))
    if trust_html:
        parts.append(trust_html)
    if explainers is not None:
        parts += ["<h2>Explainers</h2>", html_table(explainers)]
    for kind, paths in figures.items():
        pngs = [p for p in paths if p.suffix == ".png"]
        if pngs:
            parts.append(f"<h2>Figures: {html.escape(kind)}</h2>")
            parts += [f"<figure>{embed_png(p)}<figcaption>{html.escape(_figure_note(p))}</figcaption></figure>"
                      for p in pngs]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>iabench report</title><style>"
            "body{font-family:sans-serif;margin:2em;max-width:1300px} table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left} img{max-width:100%}"
            "figcaption{font-size:13px;color:#444}</style></head><body>" + "\n".join(parts) + "</body></html>\n")
    (run_dir / "report.html").write_text(page)
    return [run_dir / "report.md", run_dir / "report.html"]
