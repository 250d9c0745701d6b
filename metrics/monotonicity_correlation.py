"""Monotonicity correlation (Quantus ``MonotonicityCorrelation``).

Spearman correlation between the attributions of pixel groups and the variance of the target output when
each group is perturbed. ``features_in_step`` is one image row's worth, W Quantus features (28 pixels on
the 28x28 one-channel default; W channel values on C-channel images) and ``nr_samples`` 10 (Quantus: 1
and 100, i.e. about 78,000 forwards per 28x28 image; ours: 280). Higher is better.

Reference: Nguyen & Martínez 2020, On Quantitative Aspects of Model Interpretability, arXiv 2007.07584.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric, row_features


@METRICS.register
class MonotonicityCorrelationMetric(QuantusMetric):
    __doc__ = __doc__
    name = "monotonicity-correlation"
    display_name = "Monotonicity correlation"
    direction = "higher"
    description = ("Quantus `MonotonicityCorrelation` (one image row of features per step, 10 samples): Spearman "
                   "correlation of pixel groups' attributions with the output variance when each is perturbed")
    family = "faithfulness"
    reference = "Nguyen & Martínez 2020, On Quantitative Aspects of Model Interpretability, arXiv 2007.07584"
    quantus_class = "MonotonicityCorrelation"
    defaults = {"nr_samples": 10}

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        return {"features_in_step": row_features(images)}
