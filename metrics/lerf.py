"""LeRF: negative perturbation (Chefer, Gur & Wolf 2021, CVPR, Sec. 5; Samek et al. 2017). Whole patches
are removed least relevant first, 10% of the patches per step (zeros substrate); score = softmax
probability of the target (or ``score='accuracy'``); area under the curve over the removed fraction
(trapezoid). A faithful explanation keeps the score up: higher is better.
"""

from __future__ import annotations

from iabench.metrics._base import METRICS, Metric
from iabench.metrics._perturbation import PatchCurveOptions, PerturbationCurve


@METRICS.register
class LeRF(PerturbationCurve, Metric):
    __doc__ = __doc__
    name = "lerf"
    display_name = "LeRF AUC (negative perturbation)"
    direction = "higher"
    description = ("negative perturbation: target probability as whole patches are removed (zeros) least relevant "
                   "first, 10% per step; area under the curve")
    family = "faithfulness"
    moved = "removed (least relevant first)"
    reference = "Chefer et al. 2021, Transformer Interpretability Beyond Attention Visualization, CVPR, Sec. 5"
    Options = PatchCurveOptions  # whole patches
    default_spacing = {"fraction": 0.1}  # 10% of the patches per step
    descending = False

