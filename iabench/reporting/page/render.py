"""report.md and report.html: one list of sections, rendered by two Jinja2 templates shipped in the package.

Text is markdown throughout; report.html renders it with markdown-it-py (see markdown.py) and embeds every
figure, so it opens offline, alone. The summary tables come as structured rows (family_tables.py) so that
the HTML can set the controls apart and sort by the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from ...records import ExplainerRecords, MetricRecords
from ..figures.headline import Headline
from ..markdown import data_uri, markdown_table, renderer
from ..run_files import RunFiles
from .bias import NOTE as BIAS_NOTE
from .family_tables import family_tables
from .notes import SECTION_NOTES, SIGNIFICANCE_NOTE, SUMMARY_NOTE, figure_caption

# the sections written from one markdown text each (when the run has it), in reading order after the summary
PROTOCOL_SECTIONS = (("reliance", "Does each model use its planted evidence?"),
                     ("truth", "Which faithfulness protocol tells the truth?"),
                     ("contrast", "Does the map follow the model? (model contrast)"),
                     ("placement", "What changes when the evidence straddles patches?"),
                     ("controls", "Against the control of its own resolution"),
                     ("units", "How much the unit moves each score"))
FIGURE_TITLES = {"curves": "Curves", "bars": "Scores with intervals", "heatmaps": "Maps", "training": "Training",
                 "truth": "Protocols against the ground truth"}


@dataclass
class Section:
    id: str
    title: str
    how: str  # one line, markdown: how to read this section
    # ("markdown", text) | ("details", (summary, markdown)) | ("table", FamilyTable) | ("figure", (png, caption))
    blocks: list[tuple[str, object]] = field(default_factory=list)


def facts(manifest: dict, run_dir: Path) -> list[str]:
    """The run's facts from manifest.json, as markdown lines."""
    lines = [f"suite `{manifest.get('suite', run_dir.parent.name)}`, run `{manifest.get('run_id', run_dir.name)}`, "
             f"config hash `{manifest.get('config_hash', '?')}`, device `{manifest.get('device', '?')}`, "
             f"samples {manifest.get('samples', '?')}, git commit `{manifest.get('git_commit') or 'unknown'}`"]
    if manifest.get("versions"):
        lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest["versions"].items())))
    if manifest.get("timings"):
        lines.append("timings (s): " + ", ".join(f"{k} {v}" for k, v in manifest["timings"].items()))
    for name, model in sorted((manifest.get("models") or {}).items()):
        values = ", ".join(f"{k} {v:.4f}" for k, v in sorted((model.get("metrics") or {}).items())
                           if isinstance(v, float))
        lines.append(f"model {name}: {values}" if values else f"model {name}")
    return lines


def metric_lines(order: list[str], metrics_info: MetricRecords) -> list[str]:
    """One markdown line per metric: name, arrow, description (from the registered class) and reference."""
    lines = []
    for name in order:
        info = metrics_info.of(name)
        arrow = "↓" if info.lower_is_better else "↑"
        text, reference = info.description or info.display_name or name, info.reference
        scope = [f"protocol: {info.substrate} substrate, {info.unit or 'pixel'} unit"] if info.substrate else []
        scope += [f"scored on the first {info.samples} images only"] if info.samples else []
        scope += [f"only for {', '.join(info.explainers)}"] if info.explainers else []
        lines.append(f"**{name}** {arrow}: {text}." + (f" ({'; '.join(scope)}.)" if scope else "") +
                     (f" *{reference.splitlines()[0]}*" if reference else ""))
    return lines


def explainer_table(explainers_info: ExplainerRecords) -> pd.DataFrame:
    rows = []
    for label, record in explainers_info.items():
        rows.append({"explainer": label, "family": record.family, "signed": "yes" if record.signed else "no",
                     "what it computes": record.description or record.display_name,
                     "reference": record.reference.split("\n")[0], "own baseline": record.baseline or "none"})
    return pd.DataFrame(rows).set_index("explainer")


@dataclass
class Findings:
    """What ``build_report`` computed from a run, for its page."""

    summary: pd.DataFrame
    tests: pd.DataFrame  # significance.csv
    figures: dict[str, list[Path]] = field(default_factory=dict)
    auc_note: str = ""
    verdict_md: str = ""
    trust_md: str = ""
    protocol_md: dict[str, str] = field(default_factory=dict)  # PROTOCOL_SECTIONS' texts by key


def sections(run: RunFiles, found: Findings) -> list[Section]:
    """Every section of the report, in reading order (the verdict first when the run has one)."""
    summary, tests, figures, verdict_md = found.summary, found.tests, found.figures, found.verdict_md
    metrics_info, explainers_info = run.metrics, run.explainers
    out = []
    if verdict_md:  # the paragraphs, then every comparison behind them, folded
        text, _, table = verdict_md.partition("\n| claim |")
        rows = table.count("\n") - 1
        blocks = [("markdown", text)] + ([("details", (f"All {rows} comparisons behind the verdict",
                                                       "| claim |" + table))] if table else [])
        out.append(Section("verdict", "Verdict", SECTION_NOTES["verdict"], blocks))
    failed = summary[summary.n_failed > 0]
    failure_line = ("No failed explanations." if failed.empty else
                    f"{int(failed.n_failed.sum())} scores are NaN (failed explanations), excluded from the "
                    "statistics and counted in summary.csv's n_failed: " +
                    ", ".join(f"{r.model}/{r.explainer}/{r.metric} {r.n_failed}" for r in failed.itertuples()))
    own_baseline = summary.get("baseline_is_substrate", pd.Series(dtype=bool)).any()
    note = " ".join(t for t in (SUMMARY_NOTE, found.auc_note, BIAS_NOTE if own_baseline else "", failure_line) if t)
    tables = family_tables(summary, run.records)
    out.append(Section("summary", "Summary", SECTION_NOTES["summary"],
                       [("table", t) for t in tables] + [("markdown", note)]))
    out += [Section(key, title, SECTION_NOTES[key], [("markdown", text)])
            for key, title in PROTOCOL_SECTIONS if (text := found.protocol_md.get(key))]
    out.append(Section("metrics", "How to read the metrics", SECTION_NOTES["metrics"],
                       [("markdown", "\n".join(f"- {line}" for line in metric_lines(run.order, metrics_info)))]))
    if not tests.empty:  # every comparison is against IA-ViT's interpreter: none without an IA-ViT
        blocks = [("markdown", f"{SIGNIFICANCE_NOTE} {int(tests.significant.sum())} of {len(tests)} comparisons "
                               "significant (significance.csv).")]
        shown = tests.assign(**{c: tests[c].map(lambda v: f"{v:.4g}") for c in
                                ("statistic", "p_value", "p_holm", "mean_diff", "ci_low", "ci_high")})
        blocks.append(("details", (f"All {len(tests)} comparisons (click a header to sort)",
                                   markdown_table(shown.set_index(["metric", "model", "explainer"])))))
        out.append(Section("significance", "Significance", SECTION_NOTES["significance"], blocks))
    if found.trust_md:
        out.append(Section("trust", "How far to trust this ranking", SECTION_NOTES["trust"],
                           [("markdown", found.trust_md)]))
    if explainers_info:
        out.append(Section("explainers", "Explainers", SECTION_NOTES["explainers"],
                           [("markdown", markdown_table(explainer_table(explainers_info)))]))
    for kind, paths in figures.items():
        pngs = [p for p in paths if p.suffix == ".png"]
        if pngs:
            out.append(Section(f"figures-{kind}", f"Figures: {FIGURE_TITLES.get(kind, kind)}",
                               SECTION_NOTES.get(kind, ""), [("figure", (p, figure_caption(p, metrics_info)))
                                                             for p in pngs]))
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("iabench.reporting", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env


def write_reports(run: RunFiles, page_sections: list[Section], ran: list[str] | None = None, says: str = "",
                  headline: Headline | None = None) -> list[Path]:
    """Render report.md and report.html from the same sections, opened by what was run (``ran``, markdown lines)
    and what it says (``says``, with its ``headline`` figure); the run's facts (versions, timings, hashes) go with
    its configuration, folded. Returns their paths."""
    run_dir, config = run.path, run.manifest.get("config") or {}
    env, md = _environment(), renderer(run_dir)
    context = dict(title=run.suite, facts=facts(run.manifest, run_dir), sections=page_sections, ran=ran or [],
                   says=says, headline=headline,
                   config=yaml.safe_dump(config, sort_keys=False, allow_unicode=True) if config else "")
    relative = lambda path: Path(path).relative_to(run_dir).as_posix()  # noqa: E731
    (run_dir / "report.md").write_text(env.get_template("report.md.j2").render(**context, relative=relative))
    html = env.get_template("report.html.j2").render(
        **context, markdown=lambda text: Markup(md.render(text)),
        inline=lambda text: Markup(md.renderInline(text)), data_uri=data_uri)
    (run_dir / "report.html").write_text(html)
    return [run_dir / "report.md", run_dir / "report.html"]
