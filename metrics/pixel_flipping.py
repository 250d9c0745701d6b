"""Pixel flipping (Quantus) (Quantus ``PixelFlipping``).

Quantus' PixelFlipping: pixels replaced by Quantus' default "black" baseline (the input's minimum) most
relevant first, ``features_in_step`` = one image row's worth, W Quantus features (W pixels on
one-channel images: 28 on the 28x28 default, as our deletion metric's default step; Quantus flips channel
values, so on C-channel images a step is W channel values), per-sample area under the curve
(Quantus' trapezoid over the step index, without the unperturbed image). Lower is better.

Reference: Bach et al. 2015, On Pixel-Wise Explanations for Non-Linear Classifier Decisions by LRP, PLoS ONE.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric, row_features


@METRICS.register
class PixelFlippingMetric(QuantusMetric):
    __doc__ = __doc__
    name = "pixel-flipping"
    display_name = "Pixel flipping (Quantus)"
    direction = "lower"
    description = ("Quantus `PixelFlipping` (one image row of features per step): target output as pixels are set to "
                   "the black baseline most relevant first; area under the curve per sample")
    family = "faithfulness"
    reference = "Bach et al. 2015, On Pixel-Wise Explanations for Non-Linear Classifier Decisions by LRP, PLoS ONE"
    quantus_class = "PixelFlipping"
    defaults = {"return_auc_per_sample": True}

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        return {"features_in_step": row_features(images)}
