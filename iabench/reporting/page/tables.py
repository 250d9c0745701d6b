"""summary.tex: booktabs tables, best value per metric in bold, arrows for the direction.

Written by hand rather than with pandas' Styler.to_latex: the bold-best rule depends on each column's
direction and on the rounded text shown (ties at the shown precision are all bold), and the cells hold
"mean $\\pm$ half-CI" strings, which Styler's highlight_max/min (numeric, one direction for all columns)
do not combine without a second formatting pass.
"""

from __future__ import annotations

import math

import pandas as pd

from ...store import MODEL_LEVEL
from .bias import MARK
from .bias import NOTE as BIAS_NOTE

SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
           "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
ARROWS = {"lower": r"$\downarrow$", "higher": r"$\uparrow$"}
DECIMALS = 3


def escape(text: object) -> str:
    """LaTeX-escape the special characters of a label (one pass, so a backslash is not escaped twice)."""
    return "".join(SPECIAL.get(char, char) for char in str(text))


def best_rows(summary: pd.DataFrame, metric: str, decimals: int = DECIMALS) -> set[tuple[str, str]]:
    """(model, explainer) rows holding the best mean of ``metric`` per its direction, compared at the shown
    precision so that two cells printing the same number are both bold (or neither)."""
    part = summary[(summary.metric == metric) & summary["mean"].notna()]
    if part.empty:
        return set()
    shown = part["mean"].round(decimals)
    best = shown.min() if part.direction.iloc[0] == "lower" else shown.max()
    return {(m, e) for m, e, s in zip(part.model, part.explainer, shown) if s == best}


def _tabular(summary: pd.DataFrame, metrics: list[str], labels: dict[str, str], rows: list[tuple[str, ...]],
             row_header: list[str]) -> list[str]:
    frame = summary.set_index(["model", "explainer", "metric"])
    directions = summary.drop_duplicates("metric").set_index("metric").direction
    bold = {metric: best_rows(summary, metric) for metric in metrics}
    header = row_header + [f"{escape(labels.get(m, m))} {ARROWS.get(directions[m], '')}".strip() for m in metrics]
    lines = [r"\begin{tabular}{" + "l" * len(row_header) + "r" * len(metrics) + "}", r"\toprule",
             " & ".join(header) + r" \\", r"\midrule"]
    for model, explainer in rows:
        cells = [escape(model)] + ([escape(explainer)] if len(row_header) == 2 else [])
        for metric in metrics:
            key = (model, explainer, metric)
            if key not in frame.index or math.isnan(frame.loc[key, "mean"]):
                cells.append("--")
                continue
            row = frame.loc[key]
            half = (row["ci_high"] - row["ci_low"]) / 2
            text = f"{row['mean']:.{DECIMALS}f} $\\pm$ {half:.{DECIMALS}f}"
            text = r"\textbf{" + text + "}" if (model, explainer) in bold[metric] else text
            cells.append(text + r"$^\dagger$" if row.get("baseline_is_substrate", False) else text)
        lines.append(" & ".join(cells) + r" \\")
    return lines + [r"\bottomrule", r"\end{tabular}"]


def summary_tex(summary: pd.DataFrame, metric_order: list[str], auc_note: str = "",
                labels: dict[str, str] | None = None) -> str:
    """Table 1, explanation metrics: rows model x explainer, columns metrics. Table 2 (when present),
    model-level metrics (explainer '-': accuracy, agreement): rows model. Cells: mean $\\pm$ CI half-width.
    ``labels`` maps a metric to the column title (its name by default)."""
    labels = labels or {}
    present = [m for m in metric_order if m in set(summary.metric)]
    per_explainer = summary[summary.explainer != MODEL_LEVEL]
    per_model = summary[summary.explainer == MODEL_LEVEL]
    caption_tail = ("Mean $\\pm$ half-width of the 95\\% percentile-bootstrap CI of the mean over samples and "
                    "seeds. $\\uparrow$ higher is better, $\\downarrow$ lower is better; best per column in bold "
                    "(ties at the shown precision all bold).")
    lines: list[str] = []
    if not per_explainer.empty:
        metrics = [m for m in present if m in set(per_explainer.metric)]
        rows = per_explainer[["model", "explainer"]].drop_duplicates().sort_values(["model", "explainer"])
        caption = "Explanation metrics per model and explainer. " + caption_tail
        if auc_note:
            caption += " " + escape(auc_note)
        if "baseline_is_substrate" in per_explainer and per_explainer.baseline_is_substrate.any():
            caption += " $^\\dagger$" + escape(BIAS_NOTE.removeprefix(MARK))
        lines += [r"\begin{table}[t]", r"\centering", r"\small"]
        lines += _tabular(per_explainer, metrics, labels, [tuple(r) for r in rows.values.tolist()],
                          ["Model", "Explainer"])
        lines += [r"\caption{" + caption + "}", r"\label{tab:iabench-explainers}", r"\end{table}", ""]
    if not per_model.empty:
        metrics = [m for m in present if m in set(per_model.metric)]
        rows = [(model, MODEL_LEVEL) for model in sorted(per_model.model.unique())]
        lines += [r"\begin{table}[t]", r"\centering", r"\small"]
        lines += _tabular(per_model, metrics, labels, rows, ["Model"])
        lines += [r"\caption{Model-level metrics. " + caption_tail + "}", r"\label{tab:iabench-models}",
                  r"\end{table}", ""]
    return "\n".join(lines)
