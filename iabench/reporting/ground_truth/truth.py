"""Which faithfulness protocol tells the truth: every perturbation protocol's explainer ranking against the ranking
by ground truth (planted evidence), as truth.csv.

For each model and each protocol (a faithfulness-family metric: insertion, deletion, MoRF, LeRF under a substrate
and a unit, faithfulness correlation, ...), the explainers that are not controls are ranked by their mean score on
each training seed, as are they by each ground-truth score of the same unit (``TRUTH_SCORES``: evidence mass and
evidence ROC AUC; a protocol without a unit is compared with the pixel level). ``tau`` is Kendall's tau-b (scipy) of
the two rankings, averaged over the seeds, with a percentile-bootstrap interval over the seeds resampled with
replacement (``low``/``high``; none with one seed): seeds are the unit, as in the verdict.

``unreliable`` marks a protocol under which the ground truth itself (``evidence-oracle``) scores worse than at least
one explainer that is not a control by more than ``margin`` (the verdict's δ, ``VerdictConfig.delta``), on the mean
over seeds and images: no map can show the planted evidence better than the evidence, so such a protocol rewards
something else (``oracle_gap`` = the oracle's score minus the best such explainer's, oriented so that < 0 = the
oracle worse). The margin keeps ties out: the oracle's binary map leaves every pixel off the evidence in raster
order, so after the evidence is gone another map's ordering of the rest can edge it by a hair. Reading "worse than
any non-control explainer" as "worse than at least one, by more than δ" is ours.

Reuses the tau of ``reporting.stability`` (the same scipy call, the same orientation by direction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import VerdictConfig
from ...records import ExplainerRecords, MetricRecord, MetricRecords
from ...store import MODEL_LEVEL
from ..stability import _goodness, _tau
from .reliance import with_ground_truth

# the ground-truth scores (registry names) protocols are ranked against, and what the verdict calls them
TRUTH_SCORES = {"foreground-mass": "evidence mass", "evidence-auc": "evidence ROC AUC"}
ORACLE = "evidence-oracle"
RESAMPLES = 2000
TRUTH_COLUMNS = ["model", "protocol", "unit", "truth", "tau", "low", "high", "seeds", "explainers", "oracle_gap",
                 "unreliable"]


def on_the_evidence(record: MetricRecord) -> bool:
    """Whether a metric is a ground-truth score of the run's own evidence: a truth score on the evidence mask, not
    one scored against another of the dataset's masks (the garment run's motif mass, for the model contrast)."""
    return record.name in TRUTH_SCORES and record.mask is None


def _per_seed(part: pd.DataFrame, label: str, direction: str, explainers: list[str]) -> dict[int, pd.Series]:
    """seed -> the explainers' mean scores under ``label``, oriented so that higher is better."""
    rows = part[(part.metric == label) & part.explainer.isin(explainers)]
    return {int(seed): _goodness(g.groupby("explainer").value.mean(), direction) for seed, g in rows.groupby("seed")}


def _protocols(metrics_info: MetricRecords, present: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(the faithfulness protocols, unit -> the ground-truth labels of that unit) among the run's metrics."""
    protocols = [m for m in metrics_info if m in present and metrics_info.of(m).family == "faithfulness"]
    truths: dict[str, list[str]] = {}
    for label in [m for m in metrics_info if m in present]:
        record = metrics_info.of(label)
        if on_the_evidence(record):
            truths.setdefault(record.unit or "pixel", []).append(label)
    return protocols, truths


def protocol_truth(results: pd.DataFrame, metrics_info: MetricRecords, explainers_info: ExplainerRecords,
                   excluded: set[tuple[str, int]] | None = None, margin: float = VerdictConfig().delta,
                   seed: int = 0) -> pd.DataFrame:
    """truth.csv's rows (``TRUTH_COLUMNS``), leaving out the ``excluded`` (model, seed) pairs (those that failed a
    reliance check: they have no ground truth); ``margin``: how far the oracle may trail (the verdict's δ). Empty
    when the run has no ground-truth score or no protocol."""
    rows = []
    results = with_ground_truth(results, excluded)
    rng = np.random.default_rng(seed)
    protocols, truths = _protocols(metrics_info, set(results.metric))
    for model, part in results[results.explainer != MODEL_LEVEL].groupby("model", sort=True):
        ranked = sorted(e for e in set(part.explainer) if not explainers_info.of(e).is_control)
        for label in protocols:
            record = metrics_info.of(label)
            scores = _per_seed(part, label, record.direction, ranked)
            gap = _oracle_gap(part, label, record.direction, ranked)
            for truth in truths.get(record.unit or "pixel", []):
                reference = _per_seed(part, truth, metrics_info.of(truth).direction, ranked)
                seeds = sorted(set(scores) & set(reference))
                taus = np.array([_tau(scores[s], reference[s])[0] for s in seeds], dtype=float)
                low, high = _seed_interval(taus, rng)
                rows.append(dict(model=model, protocol=label, unit=record.unit or "pixel", truth=truth,
                                 tau=float(np.nanmean(taus)) if np.isfinite(taus).any() else np.nan, low=low,
                                 high=high, seeds=len(seeds), explainers=len(ranked), oracle_gap=gap,
                                 unreliable=bool(gap < -margin) if np.isfinite(gap) else False))
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def _seed_interval(taus: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of the mean tau over seeds resampled with replacement."""
    taus = taus[np.isfinite(taus)]
    if taus.size < 2:
        return np.nan, np.nan
    means = taus[rng.integers(0, taus.size, (RESAMPLES, taus.size))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _oracle_gap(part: pd.DataFrame, label: str, direction: str, ranked: list[str]) -> float:
    """The oracle's mean score minus the best non-control explainer's (higher = better orientation); NaN without
    the oracle."""
    rows = part[part.metric == label]
    means = _goodness(rows.groupby("explainer").value.mean(), direction)
    if ORACLE not in means or not set(ranked) & set(means.index):
        return np.nan
    return float(means[ORACLE] - means[means.index.isin(ranked)].max())
