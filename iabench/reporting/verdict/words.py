"""The verdict's words: numbers, protocols and row counts as the verdict's sentences write them, what an open
row could have detected and what would settle it (``text`` writes the sentences)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def num(value: float, spec: str = "+.3g") -> str:
    return "" if pd.isna(value) else format(round(float(value), 9) + 0.0, spec)  # no "-3e-17" from float rounding


def p_text(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2g}"  # not rounded: a p of 1e-12 must not read 0


def effect_text(row) -> str:
    return f"{num(row.effect)} [{num(row.ci_low)}, {num(row.ci_high)}]"


def short(protocol: str) -> str:
    """'deletion, zeros, pixel unit' -> 'deletion/zeros/pixel'."""
    return protocol.replace(" unit", "").replace(", ", "/")


def comparator(row) -> str:
    """The explainer a (i)/(ii) row compares the interpreter with ('random-patch')."""
    return row.comparison.split(" vs ", 1)[-1].split("/", 1)[-1].rsplit(" on ", 1)[0]


def names(rows: list) -> str:
    return " and ".join(dict.fromkeys(comparator(r) for r in rows))


def counted(rows: list) -> str:
    """'6 rows (3 protocols × 2 comparators)', '3 protocols' when the rows have one comparator, 'N rows' when they
    are not every protocol with every comparator."""
    protocols, comparators = len({r.protocol for r in rows}), len({comparator(r) for r in rows})
    plural = "s" if protocols != 1 else ""
    if comparators == 1:
        return f"{len(rows)} protocol{plural}"
    if len(rows) != protocols * comparators:  # not a full cross (claim vi: the model contrast is a row of its own)
        return f"{len(rows)} rows"
    return f"{len(rows)} rows ({protocols} protocol{plural} × {comparators} comparators)"


def of(count: int, rows: list) -> str:
    return f"{count} of {counted(rows)}"


def settle(rows: list) -> str:
    """What would settle an open question, from the unit its rows were decided on: with seeds as the unit the images
    are held fixed, so only more training seeds narrow the interval; with images as the unit, the seeds are too few."""
    if any(r.unit == "seed" for r in rows):
        shares = [r.seed_share for r in rows if pd.notna(r.seed_share)]
        said = f"; {np.mean(shares) * 100:.0f}% of the effects' variance is between seeds" if shares else ""
        return (f"more training seeds would settle it (seeds are the unit and the images are held fixed, so more "
                f"images would not narrow the interval{said})")
    return "training 3 or more seeds would settle it (the images of one trained model say nothing across training runs)"


def span(values: list[float]) -> str:
    low, high = num(min(values), ".2g"), num(max(values), ".2g")
    return low + (f" to {high}" if high != low else "")


def detectable_text(rows: list, holm_side: str = "against it") -> str:
    """' could detect effects of 0.034 to 0.062 in its favour and 0.05 to 0.09 against it (after Holm over its 34
    rows)': the single-test MDE of the side read at the raw p, the MDE after Holm of the other."""
    mdes = [r.mde for r in rows if pd.notna(r.mde)]
    if not mdes:
        return ""
    after = [r.mde_holm for r in rows if pd.notna(r.mde_holm)]
    text = f" could detect effects of {span(mdes)}"
    if after:
        text += f" in its favour and of {span(after)} {holm_side} (after Holm over the claim's rows)"
    return text
