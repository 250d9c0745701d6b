"""LeRF: negative perturbation (Chefer, Gur & Wolf 2021, CVPR, Sec. 5; Samek et al. 2017). Whole patches
are removed least relevant first, 10% of the patches per step (zeros substrate); score = softmax
probability of the target (or ``score='accuracy'``); area under the curve over the removed fraction
(trapezoid). A faithful explanation keeps the score up: higher is better.
"""

from __future__ import annotations

import torch
from torch import nn

from iabench.metrics import METRICS, Metric, MetricResult
from iabench.metrics._perturbation import PerturbationCurve


@METRICS.register("lerf")
class LeRF(PerturbationCurve, Metric):
    __doc__ = __doc__
    name = "lerf"
    display_name = "LeRF AUC (negative perturbation)"
    direction = "higher"
    reference = "Chefer et al. 2021, Transformer Interpretability Beyond Attention Visualization, CVPR, Sec. 5"
    defaults = {"unit": "patch", "fraction": 0.1}
    descending = False

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, **_: object) -> MetricResult:
        scores, curves, x = self.curves(model, images, targets, saliency)
        return MetricResult(scores, curves, x)
