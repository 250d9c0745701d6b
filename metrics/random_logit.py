"""Random logit (Quantus ``RandomLogit``).

Similarity (SSIM) between the explanation of the target class and that of a random other class; a
class-sensitive explanation changes, so lower is better. ``num_classes`` is read from the model.

Reference: Sixt et al. 2020, When Explanations Lie: Why Many Modified BP Attributions Fail, ICML.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iabench.contract import Needs
from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register
class RandomLogitMetric(QuantusMetric):
    __doc__ = __doc__
    name = "random-logit"
    display_name = "Random logit"
    direction = "lower"
    description = "Quantus `RandomLogit`: SSIM of the explanations of the target class and of a random other class"
    family = "sanity"
    reference = "Sixt et al. 2020, When Explanations Lie: Why Many Modified BP Attributions Fail, ICML"
    quantus_class = "RandomLogit"
    defaults = {}
    needs = Needs(saliency=True, explain_fn=True)

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        # Quantus needs the number of classes to draw the random other class: read it from the model.
        with torch.inference_mode():
            return {"num_classes": int(model(images[:1]).shape[1])}
