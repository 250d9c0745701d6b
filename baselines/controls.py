"""Controls that every real explainer should beat: uniform noise per pixel and per patch, and a centred Gaussian.

References: the random baseline of Adebayo et al. 2018 (NeurIPS, Sanity Checks for Saliency Maps) and the
centre bias of Judd et al. 2009 (ICCV, Learning to Predict Where Humans Look). ``random-patch`` is the random
baseline at a patch map's resolution: pixel-unit deletion scores pixel noise far better than any patch-level map
(Gomez, Fréour & Mouchère 2022, ICPR, "Metrics for saliency map evaluation of deep learning explanation
methods": the metrics depend on a map's resolution), so a patch-level explainer is compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.contract import Needs, Options, option
from iabench.models import seam_of
from iabench.ranges import POSITIVE
from iabench.seeding import image_generator

PATCH_SALT = 1  # random-patch's stream of an image: independent of random's (no salt) and the noise substrate's (0)


@dataclass(frozen=True)
class SeedOptions(Options):
    seed: int = option(0, "seed mixed with each image's bytes (the map is batch-invariant)")


@dataclass(frozen=True)
class CentreOptions(Options):
    sigma: float = option(0.25, "the Gaussian's standard deviation, as a share of the image side", POSITIVE)


@EXPLAINERS.register
class RandomSaliency(Explainer):
    """Uniform noise in [0, 1). Each image's noise is seeded by ``seed`` and a hash of the image's bytes, so
    the map is deterministic and the same whether the image is explained alone or in a batch."""

    name = "random"
    display_name = "Random (control)"
    family = "control"
    needs = Needs()  # the map ignores the target
    reference = "Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS (random baseline)"
    description = "uniform noise in [0, 1), seeded per image (batch-invariant)"
    signed = False
    cost = "none (no model pass)"
    Options = SeedOptions

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seed = self.options.seed
        maps = []
        for image in inputs.detach().cpu():
            maps.append(torch.rand(image.shape[-2:], generator=image_generator(image, seed)))
        return torch.stack(maps).to(inputs.device)


@EXPLAINERS.register
class RandomPatchSaliency(Explainer):
    """Uniform noise in [0, 1), one value per patch of the model's grid, upsampled like every patch-level map
    (bilinear). Seeded per image like ``random``: the same map alone or in a batch."""

    name = "random-patch"
    display_name = "Random per patch (control)"
    family = "control"
    needs = Needs()  # the map ignores the target
    reference = ("Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS (random baseline), at the patch "
                 "grid: Gomez et al. 2022, Metrics for saliency map evaluation of deep learning explanation "
                 "methods, ICPR (resolution bias)")
    description = ("uniform noise in [0, 1), one value per patch of the model's grid (a CNN's or Swin's last feature "
                   "map), upsampled bilinearly")
    signed = False
    cost = "none (no model pass)"
    resolution = "patch"
    Options = SeedOptions

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seed, grid = self.options.seed, seam_of(self.model).grid_for(tuple(inputs.shape[-2:]))
        maps = [torch.rand(grid, generator=image_generator(image, seed, PATCH_SALT)) for image in inputs.detach().cpu()]
        return torch.stack(maps).to(inputs.device)


@EXPLAINERS.register
class CentreSaliency(Explainer):
    """A Gaussian centred on the image, sigma = ``sigma`` (default 0.25) times the image side."""

    name = "centre"
    display_name = "Centre Gaussian (control)"
    family = "control"
    needs = Needs()  # the map ignores the target
    reference = "Judd et al. 2009, Learning to Predict Where Humans Look, ICCV (centre bias)"
    description = f"a Gaussian centred on the image, `sigma` {CentreOptions.sigma} of the image side"
    signed = False
    cost = "none (no model pass)"
    Options = CentreOptions

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        height, width = inputs.shape[-2:]
        sigma = self.options.sigma
        ys = (torch.arange(height, device=inputs.device, dtype=torch.float32) - (height - 1) / 2) / (sigma * height)
        xs = (torch.arange(width, device=inputs.device, dtype=torch.float32) - (width - 1) / 2) / (sigma * width)
        gaussian = torch.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2))
        return gaussian.expand(inputs.shape[0], -1, -1).clone()


@EXPLAINERS.register
class EvidenceOracle(Explainer):
    """The ground-truth mask itself, as a map: the upper control of the ground-truth scores (a map cannot put more
    of its mass on the evidence). Pixel level, 1 on evidence and 0 elsewhere; pooled to the patch grid like any map
    when a score is taken per patch. It reads the masks, not the model: on the perturbation protocols it shows what
    a perfect localiser of the planted evidence scores there."""

    name = "evidence-oracle"
    display_name = "Evidence oracle (control)"
    family = "control"
    needs = Needs(masks=True)  # reads the ground truth; ignores the model and the target
    reference = "the ground truth of planted evidence (Clark et al. 2024, XAI-TRIS; Zhou et al. 2022, AAAI)"
    description = "the ground-truth evidence mask as the map (1 on evidence, 0 elsewhere): the upper control"
    signed = False
    cost = "none (no model pass)"

    def from_masks(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        if masks.shape != (inputs.shape[0], *inputs.shape[-2:]):
            raise ValueError(f"{self.name}: masks must be (B, H, W) = {(inputs.shape[0], *inputs.shape[-2:])}, got "
                             f"{tuple(masks.shape)}")
        return masks.to(device=inputs.device, dtype=torch.float32)
