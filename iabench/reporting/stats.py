"""Summary statistics and significance tests over per-sample results.

- Summary: mean, std and a 95% percentile-bootstrap CI of the mean (``scipy.stats.bootstrap``, Efron &
  Tibshirani 1993) per (model, explainer, metric), NaN values excluded and counted as failures.
- Significance: paired Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, Wilcoxon 1945) of every
  (model, explainer) against IA-ViT's interpreter on the same (seed, sample), Holm-corrected (Holm 1979)
  within each metric's family of comparisons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

REFERENCE = ("ia-vit", "ia-vit")  # (model, explainer): IA-ViT's interpreter, what every method is tested against
SUMMARY_COLUMNS = ["model", "explainer", "metric", "direction", "mean", "std", "ci_low", "ci_high", "n", "n_failed"]
SIGNIFICANCE_COLUMNS = ["metric", "model", "explainer", "reference", "n", "statistic", "p_value", "p_holm",
                        "significant", "median_diff", "better"]
ALPHA = 0.05


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


def summarise(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Per (model, explainer, metric): mean, std (ddof=1), 95% bootstrap CI, n (finite values), n_failed (NaN)."""
    rows = []
    for (model, explainer, metric), group in results.groupby(["model", "explainer", "metric"], sort=True):
        values = group["value"].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size:
            low, high = bootstrap_ci(finite)
            mean = float(finite.mean())
            std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        else:  # every explanation failed: no statistic, only the failure count
            mean = std = low = high = float("nan")
        rows.append(dict(model=model, explainer=explainer, metric=metric,
                         direction=directions.get(metric, "higher"), mean=mean, std=std, ci_low=low,
                         ci_high=high, n=int(finite.size), n_failed=int(values.size - finite.size)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (Holm 1979): sorted ascending, p_(i) * (m - i + 1), made
    monotone with a running maximum, capped at 1. By hand because scipy has none
    (``false_discovery_control`` is Benjamini-Hochberg) and statsmodels is not a dependency. NaN p-values
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


def paired_wilcoxon(method: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(statistic, p) of the two-sided Wilcoxon signed-rank test of method - reference.

    scipy raises when every difference is zero (nothing to rank): identical scores are no evidence of a
    difference, so that case is reported as statistic 0, p = 1.0. Zero differences among non-zero ones
    are dropped (zero_method="wilcox", scipy's default)."""
    diff = np.asarray(method, dtype=float) - np.asarray(reference, dtype=float)
    if diff.size == 0 or np.all(diff == 0):
        return 0.0, 1.0
    try:
        test = stats.wilcoxon(method, reference)
    except ValueError:  # e.g. too few non-zero differences for scipy: treat as no evidence
        return 0.0, 1.0
    p_value = float(test.pvalue)
    return float(test.statistic), (1.0 if np.isnan(p_value) else p_value)


def significance(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Every (model, explainer) against IA-ViT's interpreter, per metric, paired by (seed, sample).

    The plain ViT's explainers are compared on the same (seed, sample): both models are explained on the
    same test images. ``median_diff`` is the median of method - reference; ``better`` names the side the
    metric's direction favours ("method", "reference" or "tie"), whether significant or not."""
    rows = []
    per_sample = results[results.explainer != "-"]  # model-level metrics have no explainer to compare
    for metric, frame in per_sample.groupby("metric", sort=True):
        table = frame.pivot_table(index=["seed", "sample"], columns=["model", "explainer"], values="value",
                                  aggfunc="first", dropna=False)
        if REFERENCE not in table.columns:
            continue
        reference = table[REFERENCE]
        lower_better = directions.get(metric, "higher") == "lower"
        tests = []
        for key in sorted(c for c in table.columns if c != REFERENCE):
            paired = pd.concat([table[key], reference], axis=1).dropna()  # a failed explanation drops its pair
            if paired.empty:
                continue
            method_values, reference_values = paired.iloc[:, 0].to_numpy(), paired.iloc[:, 1].to_numpy()
            statistic, p_value = paired_wilcoxon(method_values, reference_values)
            median = float(np.median(method_values - reference_values))
            better = "tie" if median == 0 else ("reference" if (median > 0) == lower_better else "method")
            tests.append(dict(metric=metric, model=key[0], explainer=key[1], reference="/".join(REFERENCE),
                              n=len(paired), statistic=statistic, p_value=p_value, median_diff=median,
                              better=better))
        adjusted = holm(np.array([t["p_value"] for t in tests]))
        for test, p_holm in zip(tests, adjusted):
            rows.append(dict(test, p_holm=float(p_holm), significant=bool(p_holm < ALPHA)))
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
