"""Insertion (Petsiuk, Das & Saenko 2018, RISE, BMVC, Sec. 4.1 "causal metrics").

Start from the substrate (zeros = the dataset mean in normalised space, as the IA-ViT paper) and insert
the pixels of the image in order of decreasing saliency, ``step`` pixels (all channels) at a time; score
= softmax probability of the target class; per-sample area under the curve over x in [0, 1] (trapezoid
rule; ``auc='mean'`` gives the IA-ViT notebook's mean of the step scores). Higher is better.
Ties in the saliency order keep raster order (stable sort).
"""

from __future__ import annotations

from iabench.metrics._base import METRICS, Metric
from iabench.metrics._perturbation import PerturbationCurve


@METRICS.register
class Insertion(PerturbationCurve, Metric):
    __doc__ = __doc__
    name = "insertion"
    display_name = "Insertion AUC"
    direction = "higher"
    description = ("target-class probability as the most salient pixels are inserted into the substrate (default "
                   "zeros = the mean image), `step` pixels at a time; area under the curve")
    family = "faithfulness"
    moved = "inserted"
    reference = "Petsiuk et al. 2018, RISE: Randomized Input Sampling for Explanation, BMVC, Sec. 4.1"
    insertion = True

