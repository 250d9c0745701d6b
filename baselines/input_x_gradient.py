"""Input x Gradient (Shrikumar et al. 2016, arXiv 1605.01713; Ancona et al. 2018, ICLR), via Captum's
``InputXGradient``, summed over channels (signed: evidence for the target is positive)."""

from __future__ import annotations

import torch
from captum.attr import InputXGradient

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining


@EXPLAINERS.register
class InputTimesGradient(Explainer):
    name = "input-x-gradient"
    display_name = "Input x Gradient"
    family = "gradient"
    baseline = "zeros"  # x * grad is the first-order change from the zero input (IG with one step from zeros)
    reference = "Shrikumar et al. 2016, Not Just a Black Box, arXiv 1605.01713"
    description = "Captum `InputXGradient`, summed over channels"
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with explaining(self.model):
            return InputXGradient(self.model).attribute(inputs.clone().requires_grad_(True), target=target).sum(1)
