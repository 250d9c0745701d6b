"""Pixel flipping (Quantus) (Quantus ``PixelFlipping``).

Quantus' PixelFlipping: pixels replaced by the black baseline most relevant first, ``features_in_step``
= 28 (one 28-pixel row, as our deletion metric), per-sample area under the curve. Lower is better.

Reference: Bach et al. 2015, On Pixel-Wise Explanations for Non-Linear Classifier Decisions by LRP, PLoS ONE.
"""

from __future__ import annotations

from iabench.metrics import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register("pixel-flipping")
class PixelFlippingMetric(QuantusMetric):
    __doc__ = __doc__
    name = "pixel-flipping"
    display_name = "Pixel flipping (Quantus)"
    direction = "lower"
    reference = "Bach et al. 2015, On Pixel-Wise Explanations for Non-Linear Classifier Decisions by LRP, PLoS ONE"
    quantus_class = "PixelFlipping"
    defaults = {'features_in_step': 28, 'return_auc_per_sample': True}
