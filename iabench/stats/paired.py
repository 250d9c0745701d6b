"""Paired comparisons of two methods on the same (seed, image) pairs: one quantity, the mean difference.

Every effect, interval and test here is about the mean of the paired differences d (method - reference):
- the effect is mean(d); its 95% interval is Student's t-interval (Student 1908);
- the test of no difference is the one-sample t-test of d (``scipy.stats.ttest_1samp``), two-sided;
- equivalence within a smallest effect of interest delta is Schuirmann's two one-sided tests (TOST; Schuirmann
  1987, Lakens 2017) on the same mean (``statsmodels`` ``DescrStatsW.ttost_mean``): p < alpha exactly when the
  90% t-interval lies inside (-delta, +delta);
- the minimum detectable effect is the |mean| a two-sided t-test of this n detects with 80% power at alpha
  (``detectable``: Cohen's d times the SD of d); a decision read after Holm within a family of m tests has its own,
  at alpha / m, the level the family's smallest p must pass.
The unit: with >= MIN_SEEDS seeds shared by both sides, d is the per-seed mean difference (n = seeds: the
variance of training counts, the images are held fixed); otherwise d is the difference per (seed, image) pair
(n = pairs: blind to training variance). The mean with a t-test was chosen over the median with Wilcoxon because
the claims are about average faithfulness, and a Wilcoxon p-value (about the pseudo-median) beside a mean effect
can disagree in sign (54 images at -0.01 and 10 at +0.06: mean +0.0009, Wilcoxon p = 0.001).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

ALPHA = 0.05
MIN_SEEDS = 3  # the seed unit needs 3 seeds: with 2 the t-interval has 1 df (t_0.975 = 12.7), useless
POWER = 0.8
EMPTY = dict(unit="", n=0, effect=math.nan, ci_low=math.nan, ci_high=math.nan, statistic=math.nan, p_value=math.nan,
             tost_p=math.nan, tost_low=math.nan, tost_high=math.nan, mde=math.nan, sd=math.nan)


def _upper_tail(critical: float, df: int, shift: float) -> float:
    """P(T > critical) for T noncentral t with ``df`` degrees of freedom and noncentrality ``shift``: scipy's, or
    where scipy returns NaN (far in a tail) the same probability integrated over u = sqrt(V / df), V chi-square
    (P(Z > critical u - shift)), in three pieces around u = 1 so that the quadrature sees the peak at large df."""
    value = float(stats.nct.sf(critical, df, shift))
    if math.isfinite(value):
        return value
    root, spread = math.sqrt(df), 1 / math.sqrt(2 * df)
    low, high = max(0.0, 1 - 12 * spread), 1 + 12 * spread

    def density(u: float) -> float:
        return float(stats.chi.pdf(u * root, df) * root * stats.norm.sf(critical * u - shift))

    return float(sum(integrate.quad(density, a, b, limit=200)[0] for a, b in ((0.0, low), (low, high),
                                                                             (high, math.inf))))


def power(effect: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided one-sample t-test of ``n`` values at ``alpha`` when the mean is ``effect`` SDs from 0:
    P(T > t_crit) + P(T < -t_crit) for the noncentral t, the lower tail as the upper tail of -T."""
    df, shift = n - 1, effect * math.sqrt(n)
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    return _upper_tail(critical, df, shift) + _upper_tail(critical, df, -shift)


@functools.lru_cache(maxsize=1024)
def detectable(n: int, alpha: float = ALPHA, wanted: float = POWER) -> float:
    """Cohen's d that the two-sided one-sample t-test of ``n`` values detects with power ``wanted`` at ``alpha``.
    By root-finding on ``power``, not statsmodels' ``TTestPower.solve_power``: that returns roots whose power is far
    from the one asked for at small n or alpha (d = 5.5 with power 0.04 for n = 3 at 0.05 / 102; tested)."""
    high = 1.0
    while power(high, n, alpha) < wanted:
        high *= 2
    return float(optimize.brentq(lambda d: power(d, n, alpha) - wanted, 0.0, high, xtol=1e-12))


def mean_test(diff: np.ndarray, delta: float = math.nan, alpha: float = ALPHA) -> dict:
    """The mean of ``diff`` with its 95% t-interval, two-sided t-test, TOST against +-``delta`` (90% interval) and
    minimum detectable effect at 80% power. Differences with no spread (equal up to float rounding) give exact
    answers instead of scipy's NaN: p = 1 at mean 0, else 0; TOST p = 0 inside +-delta, else 1; MDE 0."""
    from statsmodels.stats.weightstats import DescrStatsW

    diff = np.asarray(diff, dtype=float)
    n = diff.size
    if n < 2:
        return dict(EMPTY, n=n, effect=float(diff.mean()) if n else math.nan)
    mean, sd = float(diff.mean()), float(diff.std(ddof=1))
    rounding = 1e-12 * max(1.0, float(np.abs(diff).max()))
    if sd <= rounding:  # t would be 0/0 or x/0
        inside = abs(mean) < delta
        return dict(EMPTY, n=n, effect=mean, ci_low=mean, ci_high=mean, sd=0.0, mde=0.0, tost_low=mean,
                    tost_high=mean, statistic=0.0 if abs(mean) <= rounding else math.copysign(math.inf, mean),
                    p_value=1.0 if abs(mean) <= rounding else 0.0, tost_p=math.nan if math.isnan(delta) else
                    (0.0 if inside else 1.0))
    test = stats.ttest_1samp(diff, 0.0)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    described = DescrStatsW(diff)
    tost_low, tost_high = (float(v) for v in described.tconfint_mean(alpha=2 * alpha))
    tost_p = float(described.ttost_mean(-delta, delta)[0]) if not math.isnan(delta) else math.nan
    return dict(unit="", n=n, effect=mean, ci_low=mean - half, ci_high=mean + half, statistic=float(test.statistic),
                p_value=float(test.pvalue), tost_p=tost_p, tost_low=tost_low, tost_high=tost_high,
                mde=detectable(n, alpha) * sd, sd=sd)


def paired_differences(method: pd.Series, reference: pd.Series) -> tuple[str, np.ndarray, pd.DataFrame]:
    """(unit, the unit's differences, the paired frame m/r indexed by (seed, sample), NaN pairs dropped)."""
    paired = pd.concat([method, reference], axis=1, keys=["m", "r"]).dropna()
    if paired.empty:
        return "", np.array([]), paired
    if paired.index.get_level_values(0).nunique() >= MIN_SEEDS:
        means = paired.groupby(level=0).mean()
        return "seed", (means["m"] - means["r"]).to_numpy(dtype=float), paired
    return "image", (paired["m"] - paired["r"]).to_numpy(dtype=float), paired


def paired_effect(method: pd.Series, reference: pd.Series, delta: float = math.nan, alpha: float = ALPHA) -> dict:
    """Paired comparison of method - reference, both indexed by (seed, sample): ``mean_test`` of the unit's
    differences (see the module docstring), with ``unit`` ("seed" or "image", "" when no pair exists)."""
    unit, diff, _ = paired_differences(method, reference)
    if not unit:
        return dict(EMPTY)
    return dict(mean_test(diff, delta, alpha), unit=unit)


def orient(effect: dict, sign: float) -> dict:
    """The effect with ``sign`` applied (-1: lower is better, so that > 0 always means the first side is better);
    intervals re-ordered, p-values and spreads unchanged."""
    out = dict(effect)
    for key in ("effect", "statistic"):
        out[key] = sign * effect[key]
    for low, high in (("ci_low", "ci_high"), ("tost_low", "tost_high")):
        out[low], out[high] = sorted((sign * effect[low], sign * effect[high]))
    return out
