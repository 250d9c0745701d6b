"""Which faithfulness protocol tells the truth: every perturbation protocol's explainer ranking against the ranking
by ground truth (planted evidence), as truth.csv.

For each model and each protocol (a faithfulness-family metric: insertion, deletion, MoRF, LeRF under a substrate
and a unit, faithfulness correlation, ...), the explainers that are not controls are ranked by their mean score on
each training seed, as are they by each ground-truth score of the same unit (``TRUTH_SCORES``: evidence mass and
evidence ROC AUC; a protocol without a unit is compared with the pixel level), on the images the protocol scored
(ROAD and faithfulness correlation score fewer: the truth is read on those). ``tau`` is Kendall's tau-b of the two
rankings, averaged over the seeds (``iabench.stats.ranks``), with

- ``low``/``high``: a two-stage percentile bootstrap (seeds, then images within each seed), so the interval holds
  image sampling as well as seeds, and exists with one seed;
- ``p_value``: the permutation p, the chance that random rankings (one per seed) reach the mean tau; ``agrees``:
  that p after Holm over the model's protocols against the same truth is below the verdict's alpha, a decision whose
  family-wise error rate (calling a protocol that ranks at random agreeing) is at most alpha.

``unreliable`` marks a protocol under which the ground truth itself (``evidence-oracle``) scores worse than the best
explainer that is not a control by more than ``margin`` (``oracle_gap`` = the oracle's mean score minus the best such
explainer's, oriented so that < 0 = the oracle worse; ``gap_low``/``gap_high`` its two-stage interval): decided when
the whole interval lies below -``margin``, an error rate of at most 2.5 % (one side of a 95 % interval). No map can
show the planted evidence better than the evidence, so such a protocol rewards something else. The margin is the
verdict's δ times the metric's span (``SPANS``: 1 for an AUC or a share, 2 for a correlation in [-1, 1]), so that it
is the same share of every scale. It keeps ties out: the oracle's binary map leaves every pixel off the evidence in
raster order, so after the evidence is gone another map's ordering of the rest can edge it by a hair. Reading "worse
than any non-control explainer" as "worse than the best, beyond its interval and δ" is ours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import VerdictConfig
from ...records import ExplainerRecords, MetricRecord, MetricRecords
from ...stats import holm
from ...stats.ranks import tau_b, tau_bootstrap, tau_permutation_p, two_stage_interval
from ...store import MODEL_LEVEL
from ..stability import _goodness
from .reliance import with_ground_truth

# the ground-truth scores (registry names) protocols are ranked against, and what the verdict calls them
TRUTH_SCORES = {"foreground-mass": "evidence mass", "evidence-auc": "evidence ROC AUC"}
ORACLE = "evidence-oracle"
SPANS = {"faithfulness-correlation": 2.0, "monotonicity-correlation": 2.0}  # a correlation's [-1, 1]; else 1
TRUTH_COLUMNS = ["model", "protocol", "unit", "truth", "tau", "low", "high", "p_value", "p_holm", "agrees", "seeds",
                 "images", "explainers", "oracle_gap", "gap_low", "gap_high", "margin", "unreliable"]
Scores = dict[int, pd.DataFrame]  # seed -> (explainers x images) scores, oriented higher = better


def ground_truth_rows(results: pd.DataFrame, metrics_info: MetricRecords,
                      excluded: set[tuple[str, int]] | None) -> pd.DataFrame:
    """``results`` without the ground-truth scores of the ``excluded`` models (those that failed a reliance check):
    the metrics scored against a mask, and the evidence mass (``foreground-mass``, which takes the dataset's mask
    where there is one without declaring it needed); their other scores stay."""
    if not excluded:
        return results
    on_masks = {label for label in results.metric.unique()
                if metrics_info.of(label).needs_masks or metrics_info.of(label).name in TRUTH_SCORES}
    keep = [m not in on_masks or (model, int(s)) not in excluded
            for model, s, m in zip(results.model, results.seed, results.metric)]
    return results[keep]


def on_the_evidence(record: MetricRecord) -> bool:
    """Whether a metric is a ground-truth score of the run's own evidence: a truth score on the evidence mask, not
    one scored against another of the dataset's masks (the garment run's motif mass, for the model contrast)."""
    return record.name in TRUTH_SCORES and record.mask is None


def _scores(part: pd.DataFrame, label: str, direction: str, explainers: list[str]) -> Scores:
    """seed -> the explainers' per-image scores under ``label`` (rows sorted by name, one column per image)."""
    rows = part[(part.metric == label) & part.explainer.isin(explainers)]
    return {int(seed): _goodness(g.pivot_table(index="explainer", columns="sample", values="value"), direction)
            for seed, g in rows.groupby("seed")}


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
                   seed: int = 0, alpha: float = VerdictConfig().alpha) -> pd.DataFrame:
    """truth.csv's rows (``TRUTH_COLUMNS``), leaving out the ``excluded`` (model, seed) pairs (those that failed a
    reliance check: they have no ground truth); ``margin``: how far the oracle may trail on a span of 1 (the
    verdict's δ); ``alpha``: the level of ``agrees``. Empty when the run has no ground-truth score or no protocol."""
    rows = []
    results = with_ground_truth(results, excluded)
    rng = np.random.default_rng(seed)
    protocols, truths = _protocols(metrics_info, set(results.metric))
    for model, part in results[results.explainer != MODEL_LEVEL].groupby("model", sort=True):
        ranked = sorted(e for e in set(part.explainer) if not explainers_info.of(e).is_control)
        references = {truth: _scores(part, truth, metrics_info.of(truth).direction, ranked)
                      for unit_truths in truths.values() for truth in unit_truths}  # each truth pivoted once
        for label in protocols:
            record = metrics_info.of(label)
            scale = margin * SPANS.get(record.name, 1.0)
            with_oracle = _scores(part, label, record.direction, ranked + [ORACLE])
            gap = _oracle_gap(with_oracle, ranked, rng)
            scores = {s: frame.drop(index=ORACLE, errors="ignore") for s, frame in with_oracle.items()}
            for truth in truths.get(record.unit or "pixel", []):
                pairs = _paired(scores, references[truth])
                rows.append(dict(model=model, protocol=label, unit=record.unit or "pixel", truth=truth,
                                 **_tau_columns(pairs, rng), seeds=len(pairs),
                                 images=sum(p.shape[1] for p, _ in pairs.values()), explainers=len(ranked),
                                 oracle_gap=gap[0], gap_low=gap[1], gap_high=gap[2], margin=scale,
                                 unreliable=bool(gap[2] < -scale) if np.isfinite(gap[2]) else False))
    table = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    for _, family in table.groupby(["model", "truth"]):
        table.loc[family.index, "p_holm"] = holm(family.p_value.to_numpy(dtype=float))
    table["agrees"] = table.p_holm.astype(float) < alpha
    return table


def _paired(scores: Scores, reference: Scores) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """seed -> (protocol, truth) scores on the same explainers and the images both scored."""
    pairs = {}
    for seed in sorted(set(scores) & set(reference)):
        items = scores[seed].index.intersection(reference[seed].index)
        images = scores[seed].columns.intersection(reference[seed].columns)
        if len(items) >= 3 and len(images):
            pairs[seed] = (scores[seed].loc[items, images], reference[seed].loc[items, images])
    return pairs


def _tau_columns(pairs: dict[int, tuple[pd.DataFrame, pd.DataFrame]], rng: np.random.Generator) -> dict:
    """tau (mean over seeds), its two-stage interval and its permutation p."""
    if not pairs:
        return dict(tau=np.nan, low=np.nan, high=np.nan, p_value=np.nan, p_holm=np.nan)
    means = [(p.mean(axis=1).to_numpy(), t.mean(axis=1).to_numpy()) for p, t in pairs.values()]
    taus = np.array([tau_b(p, t) for p, t in means], dtype=float)
    low, high = tau_bootstrap([p.to_numpy() for p, _ in pairs.values()], [t.to_numpy() for _, t in pairs.values()],
                              rng)
    finite = [m for m, tau in zip(means, taus) if np.isfinite(tau)]
    return dict(tau=float(np.nanmean(taus)) if finite else np.nan, low=low, high=high,
                p_value=tau_permutation_p(finite, rng) if finite else np.nan, p_holm=np.nan)


def _oracle_gap(scores: Scores, ranked: list[str], rng: np.random.Generator) -> tuple[float, float, float]:
    """(the oracle's mean score minus the best non-control explainer's, higher = better orientation, pooled over
    seeds and images; its two-stage interval); NaN without the oracle."""
    seeds = [s for s in sorted(scores) if ORACLE in scores[s].index and scores[s].index.isin(ranked).any()]
    if not seeds:
        return np.nan, np.nan, np.nan
    order = [ORACLE] + sorted(set(ranked).intersection(*(scores[s].index for s in seeds)))
    frames = [scores[s].reindex(order).to_numpy() for s in seeds]  # row 0: the oracle

    def gap(draw: list[tuple[int, np.ndarray]]) -> float:
        pooled = np.nanmean(np.concatenate([frames[s][:, i] for s, i in draw], axis=1), axis=1)
        return float(pooled[0] - pooled[1:].max())
    whole = gap([(s, np.arange(f.shape[1])) for s, f in enumerate(frames)])
    return (whole, *two_stage_interval(gap, [f.shape[1] for f in frames], rng))
