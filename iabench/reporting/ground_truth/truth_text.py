"""The report's section on which faithfulness protocol tells the truth, written from truth.csv's rows
(``truth.protocol_truth``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import VerdictConfig
from .truth import ORACLE


def truth_markdown(truth: pd.DataFrame, margin: float, alpha: float = VerdictConfig().alpha,
                   separated: pd.DataFrame | None = None) -> str:
    """The report's section: whether each ground truth separates the explainers (``separated``, separation.csv's
    rows), one row per model, protocol and ground truth, and lines naming the protocols that agree with the truth
    and the unreliable ones (by more than ``margin``, the verdict's δ on a span of 1); "" without rows."""
    if truth.empty:
        return ""
    head = separation_markdown(separated, alpha) + "\n\n" if separated is not None and not separated.empty else ""
    lines = ["| model | protocol | ground truth | Kendall τ [95% seeds × images] | p (Holm) | seeds | explainers "
             "| oracle − best [95%] |", "|---|---|---|---|---|---|---|---|"]
    for r in truth.itertuples():
        interval = f" [{r.low:+.2f}, {r.high:+.2f}]" if np.isfinite(r.low) else ""
        mark = " **unreliable**" if r.unreliable else ""
        agrees = " **agrees**" if r.agrees else "" if getattr(r, "truth_separates", True) else " (truth not ranked)"
        gap = f"{r.oracle_gap:+.3f} [{r.gap_low:+.3f}, {r.gap_high:+.3f}]" if np.isfinite(r.oracle_gap) else "n/a"
        p = f"{r.p_holm:.2g}{agrees}" if np.isfinite(r.p_holm) else "n/a"
        lines.append(f"| {r.model} | {r.protocol}{mark} | {r.truth} | {r.tau:+.2f}{interval} | {p} | {r.seeds} | "
                     f"{r.explainers} | {gap} |")
    agreeing = sorted({f"{r.protocol} against {r.truth} ({r.model})" for r in truth.itertuples() if r.agrees})
    opening = (f"Agree with the ground truth (permutation p after Holm below {alpha:g}: at most that chance, over a "
               f"model's protocols, of calling a random ranking agreeing): {', '.join(agreeing)}." if agreeing else
               "No protocol's ranking agrees with the ground truth's beyond what random rankings reach.")
    bad = sorted({f"{r.protocol} ({r.model})" for r in truth.itertuples() if r.unreliable})
    if bad:
        ending = (f"Unreliable for these models (the ground truth scores worse than an explainer, its whole 95 % "
                  f"interval beyond {margin:g} per unit of the metric's span): {', '.join(bad)}.")
    elif not np.isfinite(truth.oracle_gap.astype(float)).any():
        ending = (f"The run has no {ORACLE}: whether a protocol scores the ground truth worse than an explainer "
                  "was not checked.")
    else:
        ending = "Under no protocol does the ground truth score detectably worse than an explainer."
    return head + "\n".join(lines) + "\n\n" + opening + "\n\n" + ending


def separation_markdown(separated: pd.DataFrame, alpha: float) -> str:
    """Where each ground truth's variance lies and whether it ranks the explainers beyond its noise."""
    lines = ["| model | ground truth | explainers | seeds × images | between explainers | between seeds | between "
             "images | F (df) | p (Holm) | pairs ordered |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in separated.itertuples():
        mark = " **separates**" if r.separates else ""
        lines.append(f"| {r.model} | {r.truth} | {r.explainers} | {r.seeds} × {r.images} | {r.explainer_share:.0%} | "
                     f"{r.seed_share:.0%} | {r.image_share:.0%} | {r.f:.3g} ({r.df1:.0f}, {r.df2:.0f}) | "
                     f"{r.p_holm:.2g}{mark} | {r.resolved_pairs:.0%} |")
    flat = sorted(f"{r.truth} ({r.model})" for r in separated.itertuples() if not r.separates)
    ending = (f"Not ranked by, its explainers no further apart than its images and seeds (F test, Holm, α {alpha:g}): "
              f"{', '.join(flat)}; no protocol is said to agree with it." if flat else
              "Every ground truth separates the explainers beyond its images' and seeds' noise.")
    ending += (" Pairs ordered: the share of explainer pairs each truth orders beyond that noise (paired t on the "
               "seeds' means, or on the images with one seed; Holm over the pairs): how much of its ranking "
               "is decided.")
    return "\n".join(lines) + "\n\n" + ending
