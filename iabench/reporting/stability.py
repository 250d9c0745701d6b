"""How far an explainer ranking can be trusted: stability.csv.

One long table (columns ``STABILITY_COLUMNS``), three kinds of rows:

- ``kendall``: Kendall's tau-b (scipy) between the explainer rankings of two settings that should agree:
  ``axis`` = ``substrate`` (one metric under two substrates, e.g. deletion vs deletion[blur]), ``unit`` (one
  metric and substrate moving pixels vs whole patches, deletion vs deletion[patch]), ``property`` (two
  perturbation metrics that both measure faithfulness, same substrate and unit: insertion vs deletion vs MoRF
  vs LeRF), ``seed`` (one metric, two training seeds) or ``model`` (one metric, two models, their common
  explainers). ``a``/``b`` name the two settings; ``value`` is tau (1 = same order, -1 = reversed), ``low``
  its p-value, ``n`` the number of explainers ranked.
- ``rank``: per model, metric and explainer, the rank of its mean (1 = best, ties averaged) and the 95 %
  percentile-bootstrap interval of that rank over images resampled with replacement (``low``/``high``).
- ``alpha``: per model and metric, Krippendorff's alpha (the ``krippendorff`` package, ordinal) with the
  images as raters of the explainers' ranks: the inter-rater reliability of Tomsett et al. 2020 (AAAI,
  "Sanity Checks for Saliency Metrics"), 1 = every image orders the explainers alike, 0 = chance.

Rankings of a metric use its direction from metrics.json; controls are ranked like any explainer.
"""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats

from ..records import MetricRecords
from ..store import MODEL_LEVEL
from .protocols import protocol

AXES = ("property", "substrate", "unit")  # what differs between two curve metrics: name, substrate, unit

STABILITY_COLUMNS = ["kind", "axis", "model", "metric", "a", "b", "explainer", "value", "low", "high", "n"]


def _goodness(values: np.ndarray, direction: str) -> np.ndarray:
    return values if direction == "higher" else -values


def _tau(first: pd.Series, second: pd.Series) -> tuple[float, float, int]:
    common = first.index.intersection(second.index)
    if len(common) < 3:
        return np.nan, np.nan, len(common)
    result = stats.kendalltau(first[common], second[common])
    return float(result.statistic), float(result.pvalue), len(common)


def _kendall_row(axis: str, model: str, metric: str, a: str, b: str, first: pd.Series, second: pd.Series) -> dict:
    tau, p, n = _tau(first, second)
    return dict(kind="kendall", axis=axis, model=model, metric=metric, a=a, b=b, value=tau, low=p, n=n)


def kendall_rows(results: pd.DataFrame, metrics_info: MetricRecords) -> list[dict]:
    rows = []
    direction = {m: record.direction for m, record in metrics_info.items()}
    saliency = results[results.explainer != MODEL_LEVEL]
    for model, part in saliency.groupby("model", sort=True):
        labels = [m for m in metrics_info if m in set(part.metric)]
        means = {m: _goodness(part[part.metric == m].groupby("explainer").value.mean(), direction[m]) for m in labels}
        curve = [m for m in labels if metrics_info.of(m).curve]
        for a, b in itertools.combinations(curve, 2):
            differs = [axis for axis, x, y in zip(AXES, protocol(a, metrics_info), protocol(b, metrics_info))
                       if x != y]
            if len(differs) == 1:  # exactly one of name, substrate and unit differs: that is the axis
                rows.append(_kendall_row(differs[0], model, f"{a} | {b}", a, b, means[a], means[b]))
        for metric in labels:
            per_seed = {seed: _goodness(g.groupby("explainer").value.mean(), direction[metric])
                        for seed, g in part[part.metric == metric].groupby("seed")}
            for a, b in itertools.combinations(sorted(per_seed), 2):
                rows.append(_kendall_row("seed", model, metric, f"seed {a}", f"seed {b}", per_seed[a], per_seed[b]))
    for metric in [m for m in metrics_info if m in set(saliency.metric)]:
        by_model = {model: _goodness(g.groupby("explainer").value.mean(), direction[metric])
                    for model, g in saliency[saliency.metric == metric].groupby("model")}
        for a, b in itertools.combinations(sorted(by_model), 2):
            rows.append(_kendall_row("model", f"{a} | {b}", metric, a, b, by_model[a], by_model[b]))
    return rows


def rank_and_alpha_rows(results: pd.DataFrame, metrics_info: MetricRecords, resamples: int = 1000,
                        seed: int = 0) -> list[dict]:
    """Per model and metric, from one (seed, sample) x explainer table (images with any NaN dropped): each
    explainer's rank with its bootstrap interval, then Krippendorff's alpha of the per-image ranks."""
    rank_rows, alpha_rows = [], []
    rng = np.random.default_rng(seed)
    for (model, metric), part in results[results.explainer != MODEL_LEVEL].groupby(["model", "metric"], sort=True):
        table = part.pivot_table(index=["seed", "sample"], columns="explainer", values="value",
                                 aggfunc="first").dropna()
        if table.shape[1] < 2 or table.shape[0] < 2:
            continue
        values = _goodness(table.to_numpy(dtype=float), metrics_info.of(metric).direction)
        ranks = stats.rankdata(-values.mean(0))
        draws = rng.integers(0, values.shape[0], (resamples, values.shape[0]))
        boot = stats.rankdata(-values[draws].mean(1), axis=1)  # (resamples, explainers)
        # rank values, not interpolations between them: the lower and upper order statistics
        low = np.percentile(boot, 2.5, axis=0, method="lower")
        high = np.percentile(boot, 97.5, axis=0, method="higher")
        rank_rows += [dict(kind="rank", axis="image", model=model, metric=metric, explainer=e, value=float(r),
                           low=float(lo), high=float(hi), n=values.shape[0])
                      for e, r, lo, hi in zip(table.columns, ranks, low, high)]
        per_image = stats.rankdata(-values, axis=1)  # each image (rater) ranks the explainers (units)
        alpha = krippendorff.alpha(reliability_data=per_image, level_of_measurement="ordinal") \
            if np.unique(per_image).size > 1 else np.nan
        alpha_rows.append(dict(kind="alpha", axis="image", model=model, metric=metric, value=float(alpha),
                               n=table.shape[0]))
    return rank_rows + alpha_rows


def stability(results: pd.DataFrame, metrics_info: MetricRecords) -> pd.DataFrame:
    """Every row of stability.csv (empty when the run has no saliency metric)."""
    rows = kendall_rows(results, metrics_info) + rank_and_alpha_rows(results, metrics_info)
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)
