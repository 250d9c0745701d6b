"""Summary statistics and significance tests over per-sample results.

The statistics themselves are ``iabench.stats``'s.

- Summary: mean, std and a 95% percentile-bootstrap CI of the mean (``scipy.stats.bootstrap``, Efron &
  Tibshirani 1993) per (model, explainer, metric) over all images and seeds pooled, NaN values excluded and
  counted as failures; beside it the uncertainty due to training: the per-seed means (mean over that seed's
  images), their mean and a 95% Student-t interval across seeds (Student 1908; df = n_seeds - 1, NaN with one
  seed). Images of one trained model are not independent replicates of training, so only the seed interval
  says how much the number would move with another training run.
- Significance: every (model, explainer) against IA-ViT's interpreter on the same (seed, sample), by
  ``stats.paired_effect``: the mean difference with its t-interval and t-test, the unit the seed with >= 3
  common seeds, else the image. Holm-corrected (Holm 1979) within each metric's family of comparisons (the
  ``family`` column says which); the verdict groups its comparisons by claim instead (see verdict/).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats import ALPHA, bootstrap_ci, holm, paired_effect, t_interval
from ..store import MODEL_LEVEL

REFERENCE = ("ia-vit", "ia-vit")  # (model, explainer): IA-ViT's interpreter, what every method is tested against
SUMMARY_COLUMNS = ["model", "explainer", "metric", "direction", "mean", "std", "ci_low", "ci_high", "n", "n_failed",
                   "n_seeds", "seed_mean", "seed_ci_low", "seed_ci_high"]
SIGNIFICANCE_COLUMNS = ["metric", "model", "explainer", "reference", "unit", "n", "mean_diff", "ci_low", "ci_high",
                        "statistic", "p_value", "p_holm", "significant", "better", "family"]


def summarise(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Per (model, explainer, metric): mean, std (ddof=1), 95% bootstrap CI, n (finite values), n_failed (NaN)
    over all images and seeds; n_seeds (seeds with a finite value), seed_mean (mean of the per-seed means) and
    its 95% t-interval across seeds (seed_ci_low, seed_ci_high)."""
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
        per_seed = group.dropna(subset=["value"]).groupby("seed")["value"].mean().to_numpy(dtype=float)
        seed_low, seed_high = t_interval(per_seed)
        rows.append(dict(model=model, explainer=explainer, metric=metric,
                         direction=directions.get(metric, "higher"), mean=mean, std=std, ci_low=low,
                         ci_high=high, n=int(finite.size), n_failed=int(values.size - finite.size),
                         n_seeds=int(per_seed.size), seed_mean=float(per_seed.mean()) if per_seed.size else math.nan,
                         seed_ci_low=seed_low, seed_ci_high=seed_high))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def significance(results: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Every (model, explainer) against IA-ViT's interpreter, per metric, paired by (seed, sample).

    The plain ViT's explainers are compared on the same (seed, sample): both models are explained on the
    same test images. ``unit`` and ``n``: seeds or image pairs (see ``stats.paired_effect``); ``mean_diff`` [ci_low,
    ci_high] is the mean over the unit of method - reference with its 95% t-interval and ``p_value`` its t-test;
    ``p_holm`` is Holm-adjusted over the ``family`` (one metric's comparisons with the interpreter); ``better``
    names the side the metric's direction favours by ``mean_diff`` ("method", "reference" or "tie"), significant
    or not."""
    rows = []
    per_sample = results[results.explainer != MODEL_LEVEL]  # model-level metrics have no explainer to compare
    for metric, frame in per_sample.groupby("metric", sort=True):
        table = frame.pivot_table(index=["seed", "sample"], columns=["model", "explainer"], values="value",
                                  aggfunc="first", dropna=False)
        if REFERENCE not in table.columns:
            continue
        lower_better = directions.get(metric, "higher") == "lower"
        tests = []
        for key in sorted(c for c in table.columns if c != REFERENCE):
            effect = paired_effect(table[key], table[REFERENCE])
            if not effect["n"]:
                continue
            shift = effect["effect"]
            better = "tie" if shift == 0 else ("reference" if (shift > 0) == lower_better else "method")
            tests.append(dict(metric=metric, model=key[0], explainer=key[1], reference="/".join(REFERENCE),
                              unit=effect["unit"], n=effect["n"], mean_diff=shift, ci_low=effect["ci_low"],
                              ci_high=effect["ci_high"], statistic=effect["statistic"], p_value=effect["p_value"],
                              better=better))
        p_values = np.array([t["p_value"] for t in tests], dtype=float)
        adjusted = holm(p_values)
        # Holm's m: the comparisons with a p-value (a pair with no spread and n < 2 has none and is not counted)
        family = f"{metric}: {int(np.isfinite(p_values).sum())} comparisons with {'/'.join(REFERENCE)}"
        for test, p_holm in zip(tests, adjusted):
            rows.append(dict(test, p_holm=float(p_holm), significant=bool(p_holm < ALPHA), family=family))
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
