"""Integrated Gradients (Sundararajan, Taly & Yan 2017, ICML, Eq. 1), via Captum's ``IntegratedGradients``, from
four baselines x' (Sturmfels, Lundberg & Lee 2020, Distill, "Visualizing the Impact of Feature Attribution
Baselines", compare them):

- ``integrated-gradients``: zeros in the model's (normalised) input space, i.e. the dataset-mean image, the
  same substrate as the insertion/deletion metrics;
- ``integrated-gradients[blur]``: the image Gaussian-blurred; by default exactly the ``blur`` substrate
  (kernel 11, sigma 5, as RISE's insertion), so that the report's mark "own baseline = substrate" is true;
  with ``sigma`` (pixels; default then 0.18 of the shorter side) or ``kernel`` (default covering +-3 sigma,
  capped below twice the shorter side) a blur of one's own, still marked as the blur substrate;
- ``integrated-gradients[uniform]``: uniform noise between each image's per-channel minimum and maximum, seeded
  by the image's bytes and ``seed`` (default 0): the ``noise`` substrate itself, the same for an image alone
  or in any batch (the range is the image's, not the batch's, for that reason);
- ``integrated-gradients[mean]``: a per-channel mean image, ``mean_image`` (C, H, W), or (C,) values, when
  given (e.g. the training set's mean image); by default each image's own per-channel mean broadcast to H x W
  (a flat image of the input's average colour).

All: ``n_steps`` (default 32) Gauss-Legendre steps (Captum's default method), evaluated in chunks of
``internal_batch_size`` (default 512) images; summed over channels (signed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from captum.attr import IntegratedGradients
from torchvision.transforms.functional import gaussian_blur

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import eval_mode, explaining
from iabench.contract import Options, option
from iabench.ranges import AT_LEAST_1, POSITIVE
from iabench.substrates import substrate_for

IG_REFERENCE = "Sundararajan et al. 2017, Axiomatic Attribution for Deep Networks, ICML, Eq. 1"
BASELINES_REFERENCE = "Sturmfels et al. 2020, Visualizing the Impact of Feature Attribution Baselines, Distill"


@dataclass(frozen=True)
class IGOptions(Options):
    n_steps: int = option(32, "integration steps (Gauss-Legendre, Captum's default method)", AT_LEAST_1)
    internal_batch_size: int = option(512, "scaled images per forward (memory, not the result)", AT_LEAST_1)


@dataclass(frozen=True)
class IGBlurOptions(IGOptions):
    sigma: float | None = option(None, "blur sigma in pixels; with kernel None: the blur substrate itself",
                                 POSITIVE)
    kernel: int | None = option(None, "blur kernel side (odd); None: covering +-3 sigma", AT_LEAST_1)


@dataclass(frozen=True)
class IGUniformOptions(IGOptions):
    seed: int = option(0, "seed mixed with each image's bytes (the noise substrate's)")


@dataclass(frozen=True)
class IGMeanOptions(IGOptions):
    mean_image: Any = option(None, "(C, H, W) image or (C,) values; None: each image's own channel means")


STEPS = f"`n_steps` {IGOptions.n_steps}, summed over channels"  # the descriptions' shared end


class _IntegratedGradientsFrom(Explainer):
    """Integrated gradients from the reference image that ``reference_input`` builds."""

    family = "gradient"
    signed = True
    # completeness: the map sums to f(x) - f(x') for this class's baseline x' (Sundararajan et al. 2017, Prop. 1)
    decomposes_logit = True
    cost = f"`n_steps` ({IGOptions.n_steps}) forwards + backwards"
    Options = IGOptions

    def reference_input(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reference_logit(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """f(x') for the target classes (B,): completeness says the map sums to f(x) - f(x')."""
        with eval_mode(self.model), torch.no_grad():
            return self.model(self.reference_input(inputs.detach())).gather(1, target.long()[:, None]).flatten()

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        steps = self.options.n_steps
        # Captum evaluates n_steps x B scaled images; chunk them (memory) but never below one step per chunk.
        chunk = max(inputs.shape[0], self.options.internal_batch_size)
        inputs = inputs.detach()
        with explaining(self.model):
            attributions = IntegratedGradients(self.model).attribute(
                inputs, baselines=self.reference_input(inputs).detach(), target=target, n_steps=steps,
                internal_batch_size=chunk)
        return attributions.sum(dim=1)


@EXPLAINERS.register
class IntegratedGradientsExplainer(_IntegratedGradientsFrom):
    name = "integrated-gradients"
    display_name = "Integrated Gradients"
    baseline = "zeros"
    reference = IG_REFERENCE
    description = f"Captum `IntegratedGradients` from a zeros (= mean image) baseline, {STEPS}"

    def reference_input(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(inputs)


@EXPLAINERS.register
class IntegratedGradientsBlur(_IntegratedGradientsFrom):
    name = "integrated-gradients[blur]"
    display_name = "Integrated Gradients (blurred baseline)"
    Options = IGBlurOptions
    baseline = "blur"  # by default the blur substrate itself
    reference = f"{IG_REFERENCE}; baseline: {BASELINES_REFERENCE}"
    description = ("Captum `IntegratedGradients` from the image Gaussian-blurred as the `blur` substrate (kernel 11, "
                   f"`sigma` 5), {STEPS}")

    def reference_input(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.options.sigma is None and self.options.kernel is None:  # the blur substrate itself
            return substrate_for(inputs, "blur")
        sigma = self.options.sigma if self.options.sigma is not None else 0.18 * min(inputs.shape[-2:])
        # odd, covering +-3 sigma; capped because gaussian_blur's reflect padding must stay below the image side
        kernel = self.options.kernel if self.options.kernel is not None else 2 * math.ceil(3 * sigma) + 1
        kernel = min(kernel, 2 * min(inputs.shape[-2:]) - 1)
        return gaussian_blur(inputs, [kernel, kernel], [sigma, sigma])


@EXPLAINERS.register
class IntegratedGradientsUniform(_IntegratedGradientsFrom):
    name = "integrated-gradients[uniform]"
    display_name = "Integrated Gradients (uniform noise baseline)"
    Options = IGUniformOptions
    baseline = "noise"  # drawn by the noise substrate's own code: the same images
    reference = f"{IG_REFERENCE}; baseline: {BASELINES_REFERENCE}"
    description = ("Captum `IntegratedGradients` from uniform noise over each image's per-channel range (seeded "
                   f"per image), {STEPS}")

    def reference_input(self, inputs: torch.Tensor) -> torch.Tensor:
        return substrate_for(inputs, "noise", seed=self.options.seed)


@EXPLAINERS.register
class IntegratedGradientsMean(_IntegratedGradientsFrom):
    name = "integrated-gradients[mean]"
    display_name = "Integrated Gradients (mean image baseline)"
    Options = IGMeanOptions
    reference = f"{IG_REFERENCE}; baseline: {BASELINES_REFERENCE}"
    description = ("Captum `IntegratedGradients` from a per-channel mean image (`mean_image`; default each image's "
                   f"own channel means), {STEPS}")

    def reference_input(self, inputs: torch.Tensor) -> torch.Tensor:
        given = self.options.mean_image
        if given is None:
            return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs)
        mean_image = torch.as_tensor(given, dtype=inputs.dtype, device=inputs.device)
        if mean_image.ndim == 1:  # per-channel values (e.g. from a suite's YAML): a flat image of them
            mean_image = mean_image[:, None, None]
        try:
            return mean_image.expand_as(inputs)
        except RuntimeError:
            raise ValueError(f"mean_image must be (C, H, W) or (C,) for images {tuple(inputs.shape[1:])}, got "
                             f"{tuple(mean_image.shape)}") from None
