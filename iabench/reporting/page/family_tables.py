"""The summary as one table per metric family (faithfulness, localisation, sanity, ...), for report.md/html.

Rows are (model, explainer) for explanation metrics and models for model-level metrics (explainer '-');
the controls (explainer family ``control``) form a second group set apart below a rule. A cell is
"mean [95% CI]"; the best mean per column is bold (as in summary.tex); a metric that does not apply to a row
says why ("n/a: IA-ViT only"), so that no cell is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...records import MetricRecords
from ...store import MODEL_LEVEL
from ..markdown import markdown_table
from ..protocols import is_curve, protocol
from ..run_files import RunRecords
from .bias import MARK
from .tables import DECIMALS, best_rows

# family -> (heading, one line on how to read its table); tables follow the order the run recorded
# (metrics.json ``family_rank``: the registry's), a family without a heading here gets its own name
FAMILIES = {
    "faithfulness": ("Faithfulness", "Does the prediction change when what the map calls important is removed or "
                                     "inserted? Each column's arrow says which way is better."),
    "localisation": ("Localisation", "Does the map fall on the ground-truth object mask? Higher is better."),
    "robustness": ("Robustness", "How much does the map change under small input noise? Lower is more robust."),
    "complexity": ("Complexity", "How concentrated is the map? A property to read beside faithfulness, not a "
                                 "score on its own."),
    "sanity": ("Sanity checks", "Does the map change when the model's weights or the target are randomised? "
                                "Lower similarity passes."),
    "diagnostics": ("Diagnostics", "Properties of the maps (entropy, mass on the object, agreement with a "
                                   "reference explainer): context for the scores, not quality scores."),
    "model": ("Model accuracy", "Top-1 accuracy of each model on the evaluated images (model-level)."),
    "agreement": ("Interpreter agreement", "Does IA-ViT's interpreter predict what its predictor predicts? "
                                           "Model-level; IA-ViT only."),
    "other": ("Other metrics", "Each column's arrow says which way is better."),
}


@dataclass
class Cell:
    text: str
    value: float | None = None  # the sort key (the mean); None sorts last
    bold: bool = False
    note: str = ""  # the interval across seeds, shown under the text (beside it in markdown)

    @property
    def full(self) -> str:
        return f"{self.text} · {self.note}" if self.note else self.text


@dataclass
class FamilyTable:
    family: str
    title: str
    how: str
    row_header: list[str]
    columns: list[tuple[str, str, str]]  # (metric label, arrow, description)
    groups: list[list[list[Cell]]] = field(default_factory=list)  # methods, then controls
    anchor: str = ""  # the HTML id

    def markdown(self) -> str:
        """The same table as a pipe table, controls last (markdown has no rule inside a table)."""
        rows = [row for group in self.groups for row in group]
        head = len(self.row_header)
        columns = self.row_header + [f"{label} {arrow}" for label, arrow, _ in self.columns]
        frame = pd.DataFrame([[c.full for c in row] for row in rows], columns=columns)
        bold = pd.DataFrame([[c.bold and i >= head for i, c in enumerate(row)] for row in rows], columns=columns)
        return markdown_table(frame, bold)


def cell_text(row) -> tuple[str, str]:
    """(mean [CI] with failures and the baseline mark, the seed interval with >= 2 seeds)."""
    if pd.isna(row.mean):
        return f"failed ({row.n_failed} of {row.n + row.n_failed})", ""  # summary's n counts finite values
    text = f"{row.mean:.{DECIMALS}f} [{row.ci_low:.{DECIMALS}f}, {row.ci_high:.{DECIMALS}f}]"
    if row.n_failed:
        text += f" ({row.n_failed} failed)"
    text += f" {MARK}" if getattr(row, "baseline_is_substrate", False) else ""
    note = ""
    if getattr(row, "n_seeds", 0) >= 2 and pd.notna(row.seed_ci_low):  # training uncertainty beside image's
        note = f"seeds [{row.seed_ci_low:.{DECIMALS}f}, {row.seed_ci_high:.{DECIMALS}f}]"
    return text, note


def missing_text(metric: str, model: str, records: RunRecords, explainer: str = MODEL_LEVEL) -> str:
    """Why a row has no value for a metric."""
    kind = records.models.get(model, {}).get("kind", model)
    record = records.metrics.of(metric)
    if record.needs_ia_vit and kind != "ia-vit":
        return "n/a: IA-ViT only"
    decomposes = explainer != MODEL_LEVEL and records.explainers.of(explainer).decomposes_logit
    if explainer != MODEL_LEVEL and record.needs_decomposition and not decomposes:
        return "n/a: map does not decompose the logit"
    if record.extra_of:
        return "n/a: not reported by this explainer"
    return "n/a: not run"


def column_title(label: str, metrics_info: MetricRecords) -> str:
    """A metric's column title: its label, and for a curve metric the protocol ('deletion (zeros, pixel)')."""
    _, substrate, unit = protocol(label, metrics_info)
    return f"{label} ({substrate}, {unit})" if is_curve(label, metrics_info) else label


def family_tables(summary: pd.DataFrame, records: RunRecords) -> list[FamilyTable]:
    """One table per (family, level), families in the recorded order (metrics.json's). A metric of the run with no
    score at all (it needs an IA-ViT the run does not have) still gets its column, every cell saying why."""
    metric_order = list(records.metrics)
    scored = set(summary.metric)
    model_level = set(summary.metric[summary.explainer == MODEL_LEVEL])
    metric = {m: records.metrics.of(m) for m in metric_order}
    level_of = {m: m in model_level if m in scored else not metric[m].needs_saliency for m in metric_order}
    families = {m: metric[m].family for m in metric_order}
    rank = {families[m]: metric[m].family_rank if metric[m].family_rank is not None else len(metric_order)
            for m in metric_order}
    tables = []
    for family in sorted(set(families.values()), key=lambda f: (rank[f], f)):
        title, how = FAMILIES.get(family, (family.capitalize(), FAMILIES["other"][1]))
        for per_model in (False, True):
            metrics = [m for m in metric_order if families[m] == family and level_of[m] == per_model]
            everyone = summary[(summary.explainer == MODEL_LEVEL) == per_model]
            if metrics and not everyone.empty:  # every row of the level: a metric that does not apply says so
                columns = [(column_title(m, records.metrics), "↓" if metric[m].lower_is_better else "↑",
                            metric[m].description) for m in metrics]
                table = FamilyTable(family, title, how, ["model"] if per_model else ["model", "explainer", "map"],
                                    columns, anchor=f"summary-{family}-{'models' if per_model else 'explainers'}")
                keys = sorted(set(zip(everyone.model, everyone.explainer)))
                tables.append(_filled(table, summary[summary.metric.isin(metrics)], keys, metrics, records))
    return tables


def _filled(table: FamilyTable, part: pd.DataFrame, keys: list[tuple[str, str]], metrics: list[str],
            records: RunRecords) -> FamilyTable:
    """``table`` with a row per key (model, explainer) of ``part``'s cells, methods then controls."""
    per_model = table.row_header == ["model"]
    found = {(r.model, r.explainer, r.metric): r for r in part.itertuples()}
    best = {m: best_rows(part, m) for m in metrics}
    controls = {k for k in keys  # model-level rows ('-') are no explainer: no registry lookup for them
                if k[1] != MODEL_LEVEL and records.explainers.of(k[1]).is_control}
    for members in ([k for k in keys if k not in controls], [k for k in keys if k in controls]):
        rows = []
        for model, explainer in members:
            resolution = records.explainers.of(explainer).resolution if explainer != MODEL_LEVEL else ""
            cells = [Cell(model)] + ([] if per_model else [Cell(explainer), Cell(resolution)])
            for metric in metrics:
                row = found.get((model, explainer, metric))
                if row is None:
                    cells.append(Cell(missing_text(metric, model, records, explainer)))
                else:
                    mean = None if pd.isna(row.mean) else float(row.mean)
                    text, note = cell_text(row)
                    cells.append(Cell(text, mean, (model, explainer) in best[metric], note))
            rows.append(cells)
        if rows:
            table.groups.append(rows)
    return table
