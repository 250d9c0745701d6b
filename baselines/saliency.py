"""Gradient saliency (Simonyan, Vedaldi & Zisserman 2014, ICLR workshop, Sec. 3.1), via Captum's
``Saliency``: |d logit_target / d pixel|, maximum over channels as in the paper."""

from __future__ import annotations

import torch
from captum.attr import Saliency

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining


@EXPLAINERS.register
class GradientSaliency(Explainer):
    name = "saliency"
    display_name = "Gradient saliency"
    family = "gradient"
    reference = "Simonyan et al. 2014, Deep Inside Convolutional Networks, ICLR workshop, Sec. 3.1"
    description = "Captum `Saliency`: absolute gradient of the target logit, max over channels"
    signed = False
    cost = "1 forward + 1 backward"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with explaining(self.model):
            grads = Saliency(self.model).attribute(inputs.detach().clone().requires_grad_(True), target=target,
                                                    abs=True)
        return grads.amax(dim=1)
