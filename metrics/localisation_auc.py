"""Localisation ROC AUC (Quantus ``AUC``).

ROC AUC of the saliency as a detector of the ground-truth mask's pixels. Higher is better.

Reference: Fawcett 2006, An introduction to ROC analysis, Pattern Recognition Letters.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class AucMetric(QuantusMetric):
    __doc__ = __doc__
    name = "auc"
    display_name = "Localisation ROC AUC"
    direction = "higher"
    description = "Quantus `AUC` (needs masks): ROC AUC of the saliency as a detector of the ground-truth mask's pixels"
    family = "localisation"
    reference = "Fawcett 2006, An introduction to ROC analysis, Pattern Recognition Letters"
    quantus_class = "AUC"
    defaults = {}
    needs = Needs(saliency=True, masks=True)
