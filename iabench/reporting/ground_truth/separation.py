"""Whether each ground-truth score separates the explainers beyond its noise, as separation.csv (and what
truth.csv may then call agreeing).

For each model and ground-truth score on the evidence (evidence mass, evidence ROC AUC, pointing game; per pixel
and per patch), the scores of the ranked explainers (not controls) on the images and seeds they all scored split
into the shares of variance between explainers, between seeds and between images, with the F test of
``stats.separation``. ``separates``: that test's p after Holm over the model's ground-truth scores is below the
verdict's alpha; ``resolved_pairs``: the share of explainer pairs it orders beyond that noise (paired t, Holm over the
pairs), how much of its ranking is decided. A protocol is said to agree with a ground truth only where that truth
separates: a ranking by a score whose explainers differ no more than its noise is a ranking of the noise (truth.csv's
``truth_separates``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import VerdictConfig
from ...records import ExplainerRecords, MetricRecords
from ...stats import holm
from ...stats.separation import SEPARATION_KEYS, resolved_pairs, separation
from ...store import MODEL_LEVEL
from .reliance import with_ground_truth
from .truth import TRUTH_SCORES, _scores

SEPARATION_COLUMNS = ["model", "truth", "unit", "explainers", "seeds", "images", *SEPARATION_KEYS, "p_holm",
                      "separates", "resolved_pairs"]


def _layout(frames: dict[int, pd.DataFrame]) -> np.ndarray:
    """(explainers, seeds, images) on the explainers and images every seed has, images with a NaN dropped."""
    seeds = sorted(frames)
    explainers = sorted(set.intersection(*(set(frames[s].index) for s in seeds)))
    images = sorted(set.intersection(*(set(frames[s].columns) for s in seeds)))
    stack = np.stack([frames[s].loc[explainers, images].to_numpy(dtype=float) for s in seeds], axis=1)
    return stack[:, :, ~np.isnan(stack).any(axis=(0, 1))]


def truth_separation(results: pd.DataFrame, metrics_info: MetricRecords, explainers_info: ExplainerRecords,
                     excluded: set[tuple[str, int]] | None = None,
                     alpha: float = VerdictConfig().alpha) -> pd.DataFrame:
    """separation.csv's rows (``SEPARATION_COLUMNS``), leaving out the ``excluded`` (model, seed) pairs (no
    ground truth); empty without a ground-truth score."""
    results = with_ground_truth(results, excluded)
    labels = [m for m in metrics_info if m in set(results.metric) and metrics_info.of(m).mask is None
              and metrics_info.of(m).name in (*TRUTH_SCORES, "evidence-pointing")]
    rows = []
    for model, part in results[results.explainer != MODEL_LEVEL].groupby("model", sort=True):
        ranked = sorted(e for e in set(part.explainer) if not explainers_info.of(e).is_control)
        for label in labels:
            record = metrics_info.of(label)
            frames = _scores(part, label, record.direction, ranked)
            if not frames:
                continue
            y = _layout(frames)
            rows.append(dict(model=model, truth=label, unit=record.unit or "pixel", explainers=y.shape[0],
                             seeds=y.shape[1], images=y.shape[2], **separation(y),
                             resolved_pairs=resolved_pairs(y, alpha)))
    table = pd.DataFrame(rows, columns=SEPARATION_COLUMNS)
    for _, family in table.groupby("model"):
        table.loc[family.index, "p_holm"] = holm(family.p_value.to_numpy(dtype=float))
    table["separates"] = table.p_holm.astype(float) < alpha
    return table


def with_separation(truth: pd.DataFrame, separated: pd.DataFrame) -> pd.DataFrame:
    """truth.csv's rows with ``truth_separates`` (from separation.csv) and ``agrees`` only where it holds."""
    if truth.empty:
        return truth.assign(truth_separates=pd.Series(dtype=bool))
    lookup = {(r.model, r.truth): bool(r.separates) for r in separated.itertuples()}
    flags = [lookup.get((m, t), False) for m, t in zip(truth.model, truth.truth)]
    return truth.assign(truth_separates=flags, agrees=truth.agrees.astype(bool) & np.array(flags, dtype=bool))
