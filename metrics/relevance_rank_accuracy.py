"""Relevance rank accuracy (Quantus ``RelevanceRankAccuracy``).

Share of the K most salient pixels (K = mask size) that lie inside the ground-truth mask. Higher is better.

Reference: Arras et al. 2022, CLEVR-XAI, Information Fusion 81.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class RelevanceRankAccuracyMetric(QuantusMetric):
    __doc__ = __doc__
    name = "relevance-rank-accuracy"
    display_name = "Relevance rank accuracy"
    direction = "higher"
    description = ("Quantus `RelevanceRankAccuracy` (needs masks): share of the K most salient pixels (K = the "
                   "mask's size) inside the ground-truth mask")
    family = "localisation"
    reference = "Arras et al. 2022, CLEVR-XAI, Information Fusion 81"
    quantus_class = "RelevanceRankAccuracy"
    defaults = {}
    needs = Needs(saliency=True, masks=True)
