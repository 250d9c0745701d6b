"""Cells whose score is biased in the explainer's favour: its own baseline is the metric's substrate.

Integrated gradients from a zero baseline attributes exactly the change from the zero image, which is
what deletion under the zeros substrate measures (Rong et al. 2022, ICML, Sec. 3: the removal substrate
leaks into the score); occlusion and input x gradient share that reference. Explainers declare their
baseline (``Explainer.baseline``, stored in explainers.json); perturbation metrics their substrate
(metrics.json). Runs stored before these fields existed get no marks.
"""

from __future__ import annotations

import pandas as pd

from ...records import ExplainerRecords, MetricRecords

MARK = "†"
NOTE = ("† the explainer's own baseline is this metric's substrate (e.g. integrated gradients from zeros under "
        "zeros deletion): the score is biased in its favour (Rong et al. 2022).")


def baseline_is_substrate(summary: pd.DataFrame, explainers_info: ExplainerRecords,
                          metrics_info: MetricRecords) -> pd.Series:
    """One boolean per summary row."""
    def flagged(explainer: str, metric: str) -> bool:
        baseline = explainers_info.of(explainer).baseline
        substrate = metrics_info.of(metric).substrate
        return baseline is not None and baseline == substrate

    return pd.Series([flagged(e, m) for e, m in zip(summary.explainer, summary.metric)], index=summary.index,
                     dtype=bool)
