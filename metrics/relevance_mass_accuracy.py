"""Relevance mass accuracy (Quantus ``RelevanceMassAccuracy``).

Share of the (positive) attribution mass that falls inside the ground-truth mask. Higher is better.

Reference: Arras et al. 2022, CLEVR-XAI, Information Fusion 81.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class RelevanceMassAccuracyMetric(QuantusMetric):
    __doc__ = __doc__
    name = "relevance-mass-accuracy"
    display_name = "Relevance mass accuracy"
    direction = "higher"
    description = ("Quantus `RelevanceMassAccuracy` (needs masks): share of the positive attribution mass inside the "
                   "ground-truth mask")
    family = "localisation"
    reference = "Arras et al. 2022, CLEVR-XAI, Information Fusion 81"
    quantus_class = "RelevanceMassAccuracy"
    defaults = {}
    needs = Needs(saliency=True, masks=True)
