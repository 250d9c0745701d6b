"""Holm's step-down correction (Holm 1979) and the effect a decision read after it can detect."""

from __future__ import annotations

import math

import numpy as np

from .paired import detectable


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (Holm 1979): sorted ascending, p_(i) * (m - i + 1), made
    monotone with a running maximum, capped at 1. By hand because scipy has none
    (``false_discovery_control`` is Benjamini-Hochberg) and statsmodels is only a test dependency (the tests
    check this function against its ``multipletests``). NaN p-values
    (no test possible) stay NaN and do not count in m."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    running = 0.0
    for rank, index in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, (m - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def holm_mde(mde: float, n: int, alpha: float, family: int) -> float:
    """The effect a row's test detects with 80% power at alpha / ``family``, the level the smallest p of a Holm
    family must pass, from its single-test ``mde`` at ``alpha`` (the same SD of the differences)."""
    if not family or n < 2 or not math.isfinite(mde):
        return math.nan
    return mde * detectable(n, alpha / family) / detectable(n, alpha)
