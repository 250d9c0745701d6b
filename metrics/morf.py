"""MoRF: positive perturbation (Chefer, Gur & Wolf 2021, CVPR, Sec. 5 "perturbation tests"; Samek et al.
2017 for MoRF/LeRF). Whole patches are removed (replaced by zeros, the dataset mean in normalised space)
most relevant first, 10% of the patches per step; score = softmax probability of the target (or
``score='accuracy'``, Chefer's top-1 accuracy); area under the curve over the removed fraction
(trapezoid). A faithful explanation makes the score fall fast: lower is better.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS, Metric
from iabench.metrics._perturbation import PatchCurveOptions, PerturbationCurve


@METRICS.register
class MoRF(PerturbationCurve, Metric):
    __doc__ = __doc__
    name = "morf"
    display_name = "MoRF AUC (positive perturbation)"
    direction = "lower"
    description = ("positive perturbation: target probability as whole patches are removed (zeros) most relevant "
                   "first, 10% per step; area under the curve")
    family = "faithfulness"
    moved = "removed (most relevant first)"
    reference = "Chefer et al. 2021, Transformer Interpretability Beyond Attention Visualization, CVPR, Sec. 5"
    Options = PatchCurveOptions  # whole patches
    default_spacing = {"fraction": 0.1}  # 10% of the patches per step

