"""Summary statistics and significance tests over per-sample results."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

REFERENCE = ("ia-vit", "ia-vit")  # (model, explainer): IA-ViT's interpreter, what every method is tested against


def bootstrap_ci(values: np.ndarray, confidence: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy.stats.bootstrap, fixed seed: deterministic). A single
    value or constant data gives [mean, mean]."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2 or np.ptp(values) == 0:
        return mean, mean
    result = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=resamples,
                             method="percentile", rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarise(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Per (model, explainer, metric): mean, std, 95% bootstrap CI, n (finite values), n_failed (NaN)."""
    rows = []
    for (model, explainer, metric), group in results.groupby(["model", "explainer", "metric"], sort=True):
        values = group["value"].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size:
            low, high = bootstrap_ci(finite)
            mean, std = float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        else:
            mean = std = low = high = float("nan")
        rows.append(dict(model=model, explainer=explainer, metric=metric,
                         direction=directions.get(metric, "higher"), mean=mean, std=std, ci_low=low,
                         ci_high=high, n=int(finite.size), n_failed=int(values.size - finite.size)))
    return pd.DataFrame(rows, columns=["model", "explainer", "metric", "direction", "mean", "std", "ci_low",
                                       "ci_high", "n", "n_failed"])


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (Holm 1979). By hand: scipy has no Holm correction
    (false_discovery_control is Benjamini-Hochberg) and statsmodels is not a dependency."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (m - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def significance(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests (scipy) of every (model, explainer) against IA-ViT's interpreter,
    per metric, paired by (seed, sample); Holm-corrected within each metric. All-zero differences give
    p = 1 (no evidence of a difference)."""
    columns = ["metric", "model", "explainer", "reference", "n", "statistic", "p_value", "p_holm", "significant",
               "median_diff", "better"]
    rows = []
    for metric, frame in results[results.explainer != "-"].groupby("metric", sort=True):
        table = frame.pivot_table(index=["seed", "sample"], columns=["model", "explainer"], values="value",
                                  aggfunc="first")
        if REFERENCE not in table.columns:
            continue
        reference = table[REFERENCE]
        tests = []
        for key in sorted(c for c in table.columns if c != REFERENCE):
            paired = pd.concat([table[key], reference], axis=1).dropna()
            if len(paired) < 1:
                continue
            diff = (paired.iloc[:, 0] - paired.iloc[:, 1]).to_numpy()
            if np.allclose(diff, 0):
                statistic, p_value = 0.0, 1.0
            else:
                test = stats.wilcoxon(paired.iloc[:, 0], paired.iloc[:, 1])
                statistic, p_value = float(test.statistic), float(test.pvalue)
            median = float(np.median(diff))
            lower_better = directions.get(metric, "higher") == "lower"
            if median == 0:
                better = "tie"
            else:
                better = "reference" if (median > 0) == lower_better else "method"
            tests.append(dict(metric=metric, model=key[0], explainer=key[1], reference="ia-vit/ia-vit",
                              n=len(paired), statistic=statistic, p_value=p_value, median_diff=median, better=better))
        if tests:
            adjusted = holm(np.array([t["p_value"] for t in tests]))
            for test, p_holm in zip(tests, adjusted):
                rows.append(dict(test, p_holm=float(p_holm), significant=bool(p_holm < 0.05)))
    return pd.DataFrame(rows, columns=columns)
