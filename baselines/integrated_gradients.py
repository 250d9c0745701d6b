"""Integrated Gradients (Sundararajan, Taly & Yan 2017, ICML, Eq. 1), via Captum's ``IntegratedGradients``.

Baseline: zeros in the model's (normalised) input space, i.e. the dataset-mean image, the same substrate
as the insertion/deletion metrics; ``n_steps`` (default 32) Gauss-Legendre steps (Captum's default method),
evaluated in chunks of ``internal_batch_size`` (default 512) images; summed over channels.
"""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients

from iabench.baselines import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining


@EXPLAINERS.register("integrated-gradients")
class IntegratedGradientsExplainer(Explainer):
    name = "integrated-gradients"
    display_name = "Integrated Gradients"
    family = "gradient"
    baseline = "zeros"
    reference = "Sundararajan et al. 2017, Axiomatic Attribution for Deep Networks, ICML, Eq. 1"
    description = ("Captum `IntegratedGradients` from a zeros (= mean image) baseline, `n_steps` 32, summed over "
                   "channels")
    signed = True

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        steps = int(self.options.get("n_steps", 32))
        # Captum evaluates n_steps x B scaled images; chunk them (memory) but never below one step per chunk.
        chunk = max(inputs.shape[0], int(self.options.get("internal_batch_size", 512)))
        with explaining(self.model):
            attributions = IntegratedGradients(self.model).attribute(
                inputs.detach(), baselines=torch.zeros_like(inputs), target=target, n_steps=steps,
                internal_batch_size=chunk)
        return attributions.sum(dim=1)
