"""Deletion (Petsiuk, Das & Saenko 2018, RISE, BMVC, Sec. 4.1 "causal metrics"); the IA-ViT paper's
faithfulness measure (Qiang et al. 2023, Sec. 4.3).

Start from the image and replace its pixels by the substrate (zeros = the dataset mean in normalised
space, as the paper) in order of decreasing saliency, ``step`` pixels (all channels) at a time; score =
softmax probability of the target class; per-sample area under the curve over x in [0, 1] (trapezoid
rule; ``auc='mean'`` gives the IA-ViT notebook's mean of the step scores). Lower is better.
Ties in the saliency order keep raster order (stable sort).
"""

from __future__ import annotations

from iabench.metrics._base import METRICS, Metric
from iabench.metrics._perturbation import PerturbationCurve


@METRICS.register
class Deletion(PerturbationCurve, Metric):
    __doc__ = __doc__
    name = "deletion"
    display_name = "Deletion AUC"
    direction = "lower"
    description = ("target-class probability as the most salient pixels are replaced by the substrate (default zeros "
                   "= the mean image), `step` pixels at a time; area under the curve (the IA-ViT paper's measure)")
    family = "faithfulness"
    reference = "Petsiuk et al. 2018, RISE: Randomized Input Sampling for Explanation, BMVC, Sec. 4.1"

