"""Random logit (Quantus ``RandomLogit``).

Similarity (SSIM) between the explanation of the target class and that of a random other class; a
class-sensitive explanation changes, so lower is better. ``num_classes`` is read from the model.

Reference: Sixt et al. 2020, When Explanations Lie: Why Many Modified BP Attributions Fail, ICML.
"""

from __future__ import annotations

import torch

from iabench.metrics import METRICS
from iabench.metrics._quantus import QuantusMetric


@METRICS.register("random-logit")
class RandomLogitMetric(QuantusMetric):
    __doc__ = __doc__
    name = "random-logit"
    display_name = "Random logit"
    direction = "lower"
    reference = "Sixt et al. 2020, When Explanations Lie: Why Many Modified BP Attributions Fail, ICML"
    quantus_class = "RandomLogit"
    defaults = {}
    needs_explain_fn = True

    def __call__(self, model, images, targets, saliency=None, *, masks=None, explain_fn=None):  # noqa: ANN001, ANN201
        # Quantus needs the number of classes to draw the random other class: read it from the model.
        with torch.no_grad():
            self.defaults = {**self.defaults, "num_classes": int(model(images[:1]).shape[1])}
        return super().__call__(model, images, targets, saliency, masks=masks, explain_fn=explain_fn)
