"""summary.tex: a booktabs table, best value per metric in bold, arrows for the direction.

Written by hand rather than with pandas' Styler.to_latex: the bold-best rule depends on each column's
direction and the cells hold "mean ± half-CI" strings, which Styler's highlighters do not combine.
"""

from __future__ import annotations

import math

import pandas as pd

SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
           "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def escape(text: str) -> str:
    return "".join(SPECIAL.get(char, char) for char in str(text))


def summary_tex(summary: pd.DataFrame, metric_order: list[str], auc_note: str = "") -> str:
    """Rows: model x explainer; columns: metrics (↑ higher / ↓ lower is better); cells: mean ± CI half-width."""
    metrics = [m for m in metric_order if m in set(summary.metric)]
    frame = summary.set_index(["model", "explainer", "metric"])
    rows = summary[["model", "explainer"]].drop_duplicates().sort_values(["model", "explainer"]).values.tolist()
    best = {}
    for metric in metrics:
        part = summary[(summary.metric == metric) & summary["mean"].notna()]
        if part.empty:
            continue
        lower = part.direction.iloc[0] == "lower"
        best[metric] = part["mean"].min() if lower else part["mean"].max()
    arrows = {"lower": r"$\downarrow$", "higher": r"$\uparrow$"}
    directions = summary.drop_duplicates("metric").set_index("metric").direction
    header = ["Model", "Explainer"] + [f"{escape(m)} {arrows[directions[m]]}" for m in metrics]
    lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{ll" + "r" * len(metrics) + "}",
             r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    for model, explainer in rows:
        cells = [escape(model), escape(explainer)]
        for metric in metrics:
            key = (model, explainer, metric)
            if key not in frame.index or math.isnan(frame.loc[key, "mean"]):
                cells.append("--")
                continue
            row = frame.loc[key]
            half = (row["ci_high"] - row["ci_low"]) / 2
            text = f"{row['mean']:.3f} $\\pm$ {half:.3f}"
            if metric in best and math.isclose(row["mean"], best[metric], rel_tol=0, abs_tol=1e-12):
                text = r"\textbf{" + text + "}"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    caption = ("Mean $\\pm$ half-width of the 95\\% bootstrap CI over samples. "
               "$\\uparrow$ higher is better, $\\downarrow$ lower is better; best per column in bold.")
    if auc_note:
        caption += " " + escape(auc_note)
    lines += [r"\bottomrule", r"\end{tabular}", r"\caption{" + caption + "}", r"\end{table}", ""]
    return "\n".join(lines)
