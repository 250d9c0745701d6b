"""Pointing game (Quantus ``PointingGame``).

1 when the most salient pixel lies inside the ground-truth mask. Higher is better.

Reference: Zhang et al. 2018, Top-down Neural Attention by Excitation Backprop, IJCV.
"""

from __future__ import annotations

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class PointingGameMetric(QuantusMetric):
    __doc__ = __doc__
    name = "pointing-game"
    display_name = "Pointing game"
    direction = "higher"
    description = ("Quantus `PointingGame` (needs masks): 1 when the most salient pixel lies inside the ground-truth "
                   "mask")
    family = "localisation"
    reference = "Zhang et al. 2018, Top-down Neural Attention by Excitation Backprop, IJCV"
    quantus_class = "PointingGame"
    defaults = {}
    needs = Needs(saliency=True, masks=True)
