"""The report's section on which faithfulness protocol tells the truth, written from truth.csv's rows
(``truth.protocol_truth``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .truth import ORACLE


def truth_markdown(truth: pd.DataFrame, margin: float) -> str:
    """The report's section: one row per model, protocol and ground truth, and a line naming the unreliable
    protocols (by more than ``margin``, the verdict's δ); "" without rows."""
    if truth.empty:
        return ""
    lines = ["| model | protocol | ground truth | Kendall τ [95% seed-bootstrap] | seeds | explainers "
             "| oracle − best |", "|---|---|---|---|---|---|---|"]
    for r in truth.itertuples():
        interval = f" [{r.low:+.2f}, {r.high:+.2f}]" if np.isfinite(r.low) else ""
        mark = " **unreliable**" if r.unreliable else ""
        gap = f"{r.oracle_gap:+.3f}" if np.isfinite(r.oracle_gap) else "n/a"
        lines.append(f"| {r.model} | {r.protocol}{mark} | {r.truth} | {r.tau:+.2f}{interval} | {r.seeds} | "
                     f"{r.explainers} | {gap} |")
    bad = sorted({f"{r.protocol} ({r.model})" for r in truth.itertuples() if r.unreliable})
    if bad:
        ending = (f"Unreliable for these models (the ground truth scores more than {margin:g} worse than an "
                  f"explainer): {', '.join(bad)}.")
    elif not np.isfinite(truth.oracle_gap.astype(float)).any():
        ending = (f"The run has no {ORACLE}: whether a protocol scores the ground truth worse than an explainer "
                  "was not checked.")
    else:
        ending = "Under every protocol the ground truth scores at least as well as every explainer."
    return "\n".join(lines) + "\n\n" + ending
