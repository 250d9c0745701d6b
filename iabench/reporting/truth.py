"""Which faithfulness protocol tells the truth: every perturbation protocol's explainer ranking against the ranking
by ground truth (planted evidence), as truth.csv.

For each model and each protocol (a faithfulness-family metric: insertion, deletion, MoRF, LeRF under a substrate
and a unit, faithfulness correlation, ...), the explainers that are not controls are ranked by their mean score on
each training seed, as are they by each ground-truth score of the same unit (``TRUTH``: evidence mass and evidence
ROC AUC; a protocol without a unit is compared with the pixel level). ``tau`` is Kendall's tau-b (scipy) of the two
rankings, averaged over the seeds, with a percentile-bootstrap interval over the seeds resampled with replacement
(``low``/``high``; none with one seed): seeds are the unit, as in the verdict.

``unreliable`` marks a protocol under which the ground truth itself (``evidence-oracle``) scores worse than at least
one explainer that is not a control by more than ``MARGIN`` (the verdict's δ), on the mean over seeds and images: no
map can show the planted evidence better than the evidence, so such a protocol rewards something else
(``oracle_gap`` = the oracle's score minus the best such explainer's, oriented so that < 0 = the oracle worse). The
margin keeps ties out: the oracle's binary map leaves every pixel off the evidence in raster order, so after the
evidence is gone another map's ordering of the rest can edge it by a hair. Reading "worse than any non-control
explainer" as "worse than at least one, by more than δ" is ours.

Reuses the tau of ``reporting.stability`` (the same scipy call, the same orientation by direction).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..records import explainer_of, metric_of
from .figure_io import grid_figure, save_figure
from .reliance import with_ground_truth
from .stability import _goodness, _tau

TRUTH = ("foreground-mass", "evidence-auc")  # the ground-truth scores protocols are ranked against (registry names)
ORACLE = "evidence-oracle"
RESAMPLES = 2000
MARGIN = 0.02  # the verdict's smallest effect of interest (VerdictConfig.delta): the oracle may trail by less
TRUTH_COLUMNS = ["model", "protocol", "unit", "truth", "tau", "low", "high", "seeds", "explainers", "oracle_gap",
                 "unreliable"]


def _per_seed(part: pd.DataFrame, label: str, direction: str, explainers: list[str]) -> dict[int, pd.Series]:
    """seed -> the explainers' mean scores under ``label``, oriented so that higher is better."""
    rows = part[(part.metric == label) & part.explainer.isin(explainers)]
    return {int(seed): _goodness(g.groupby("explainer").value.mean(), direction) for seed, g in rows.groupby("seed")}


def _protocols(metrics_info: dict, present: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(the faithfulness protocols, unit -> the ground-truth labels of that unit) among the run's metrics."""
    protocols = [m for m in metrics_info if m in present and metric_of(metrics_info, m).family == "faithfulness"]
    truths: dict[str, list[str]] = {}
    for label in [m for m in metrics_info if m in present]:
        record = metric_of(metrics_info, label)
        if record.name in TRUTH:
            truths.setdefault(record.unit or "pixel", []).append(label)
    return protocols, truths


def protocol_truth(results: pd.DataFrame, metrics_info: dict, explainers_info: dict,
                   excluded: set[tuple[str, int]] | None = None, seed: int = 0) -> pd.DataFrame:
    """truth.csv's rows (``TRUTH_COLUMNS``), leaving out the ``excluded`` (model, seed) pairs (those that failed a
    reliance check: they have no ground truth); empty when the run has no ground-truth score or no protocol."""
    rows = []
    results = with_ground_truth(results, excluded)
    rng = np.random.default_rng(seed)
    protocols, truths = _protocols(metrics_info, set(results.metric))
    for model, part in results[results.explainer != "-"].groupby("model", sort=True):
        ranked = sorted(e for e in set(part.explainer) if not explainer_of(explainers_info, e).is_control)
        for label in protocols:
            record = metric_of(metrics_info, label)
            scores = _per_seed(part, label, record.direction, ranked)
            gap = _oracle_gap(part, label, record.direction, ranked)
            for truth in truths.get(record.unit or "pixel", []):
                reference = _per_seed(part, truth, metric_of(metrics_info, truth).direction, ranked)
                seeds = sorted(set(scores) & set(reference))
                taus = np.array([_tau(scores[s], reference[s])[0] for s in seeds], dtype=float)
                low, high = _seed_interval(taus, rng)
                rows.append(dict(model=model, protocol=label, unit=record.unit or "pixel", truth=truth,
                                 tau=float(np.nanmean(taus)) if np.isfinite(taus).any() else np.nan, low=low,
                                 high=high, seeds=len(seeds), explainers=len(ranked), oracle_gap=gap,
                                 unreliable=bool(gap < -MARGIN) if np.isfinite(gap) else False))
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


def truth_markdown(truth: pd.DataFrame) -> str:
    """The report's section: one row per model, protocol and ground truth, and a line naming the unreliable
    protocols; "" without rows."""
    if truth.empty:
        return ""
    lines = ["| model | protocol | ground truth | Kendall τ [95% seed-bootstrap] | seeds | explainers "
             "| oracle − best |", "|---|---|---|---|---|---|---|"]
    for r in truth.itertuples():
        interval = f" [{r.low:+.2f}, {r.high:+.2f}]" if np.isfinite(r.low) else ""
        mark = " **unreliable**" if r.unreliable else ""
        gap = f"{r.oracle_gap:+.3f}" if np.isfinite(r.oracle_gap) else "n/a"
        lines.append(f"| {r.model} | {r.protocol}{mark} | {r.truth} | {r.tau:+.2f}{interval} | {r.seeds} | "
                     f"{r.explainers} | {gap} |")
    bad = sorted({f"{r.protocol} ({r.model})" for r in truth.itertuples() if r.unreliable})
    if bad:
        ending = (f"Unreliable for these models (the ground truth scores more than {MARGIN:g} worse than an "
                  f"explainer): {', '.join(bad)}.")
    elif not np.isfinite(truth.oracle_gap.astype(float)).any():
        ending = (f"The run has no {ORACLE}: whether a protocol scores the ground truth worse than an explainer "
                  "was not checked.")
    else:
        ending = "Under every protocol the ground truth scores at least as well as every explainer."
    return "\n".join(lines) + "\n\n" + ending


def truth_figure(truth: pd.DataFrame, folder: Path) -> list[Path]:
    """plots/truth.png/pdf: each protocol's mean tau against each ground truth with its seed interval, one panel per
    model; unreliable protocols' names in red. [] without rows."""
    if truth.empty:
        return []
    models = sorted(set(truth.model))
    protocols = list(dict.fromkeys(truth.protocol))
    # each panel names its protocols: which are unreliable differs between models
    fig, axes = grid_figure(1, len(models), (3.6, 0.28 * len(protocols) + 0.6), (2.0, 0.3), (2.0, 0.2, 0.5, 1.0))
    markers = dict(zip(dict.fromkeys(truth.truth), "os^D"))
    for ax, model in zip(axes[0], models):
        rows = truth[truth.model == model]
        for k, (label, part) in enumerate(rows.groupby("truth", sort=False)):
            y = np.array([protocols.index(p) for p in part.protocol]) + 0.15 * (k - 0.5)
            err = np.vstack([part.tau - part.low, part.high - part.tau]).clip(min=0)
            ax.errorbar(part.tau, y, xerr=np.where(np.isfinite(err), err, 0), fmt=markers[label], ms=4, capsize=2,
                        label=label)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(xlim=(-1.05, 1.05), title=model, xlabel="Kendall τ with the ground truth")
        ax.set_yticks(range(len(protocols)), protocols)
        bad = set(rows[rows.unreliable].protocol)
        for tick in ax.get_yticklabels():
            tick.set_color("#c0392b" if tick.get_text() in bad else "black")
        ax.invert_yaxis()
    axes[0][0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2)
    return save_figure(fig, folder, "truth")
