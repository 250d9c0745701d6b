"""Intervals of a mean: the percentile bootstrap over the values (``scipy.stats.bootstrap``, Efron & Tibshirani
1993) and Student's t-interval (Student 1908)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def bootstrap_ci(values: np.ndarray, confidence: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy.stats.bootstrap with a fixed rng: deterministic).

    A single value or constant data has no spread to resample (scipy would warn and return NaN for BCa,
    a degenerate interval for percentile): it gives [mean, mean]."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2 or np.ptp(values) == 0:
        return mean, mean
    result = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=resamples,
                             method="percentile", rng=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    # the percentile interval always holds the sample mean up to float rounding; clamp that rounding away
    return min(low, mean), max(high, mean)


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t CI of the mean (Student 1908): mean +- t_{(1+c)/2, n-1} * s / sqrt(n), s with ddof=1.
    NaN with fewer than two values (no spread to estimate)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return math.nan, math.nan
    mean = float(values.mean())
    half = float(stats.t.ppf((1 + confidence) / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return mean - half, mean + half
