"""Foreground mass ratio: how much more of a map's mass lies on the object than chance would put there.

Definition: with fg the object's pixels,

    score = (sum_{x in fg} |s(x)| / sum_x |s(x)|) / (|fg| / (H W)),

the share of the map's mass on the object divided by the object's share of the image. 1 = chance (e.g. a
uniform map), 1 / (object share) = all mass on the object, 0 = all mass on the background. Higher is
better. The object is the ground-truth ``masks`` (B, H, W) when given (cluttered data); otherwise the
pixels that differ from the image's background, the image's per-channel minimum (Fashion-MNIST's
background is exactly 0 before normalisation, hence the minimum after it): a pixel is foreground when any
channel exceeds that channel's minimum by more than ``tol`` (option, default 1e-6). |s| is used because
signed maps put importance in both signs.

An all-zero map, or an image with no foreground or only foreground (the ratio is then 0/0), scores NaN for
that sample, with a RuntimeWarning naming the samples.

Reference: the energy-based pointing game of Wang et al. 2020, Score-CAM, CVPR Workshops, and the relevance
mass accuracy of Arras et al. 2022, CLEVR-XAI, Information Fusion 81; here normalised by the object's area
so that 1 = chance and objects of different sizes are comparable.

With ``unit: patch`` (short form ``foreground-mass[patch]``) the same ratio is taken on the model's patch grid: each
patch's sum of |s| against its share of object pixels, ``(sum_p S_p m_p / sum_p S_p) / mean_p m_p``, so that a patch
map is judged at its own resolution. On a map constant within each patch the two resolutions give the same score; a
pixel map scores higher per patch than per pixel when its mass lands beside the object but inside the object's
patches. On planted evidence (``evidence-fashion-mnist``) this is the *evidence mass*."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from iabench.contract import Context, option
from iabench.metrics._base import METRICS, MetricResult
from iabench.metrics._checks import check_map
from iabench.metrics._evidence import EvidenceScore, EvidenceScoreOptions
from iabench.ranges import AT_LEAST_0


def foreground(images: torch.Tensor, tol: float) -> torch.Tensor:
    """(B, H, W) bool: pixels where any channel exceeds that channel's minimum (the background) by > tol."""
    low = images.amin(dim=(2, 3), keepdim=True)  # per image and channel: channels are normalised apart
    return ((images - low) > tol).any(dim=1)


@dataclass(frozen=True)
class ForegroundOptions(EvidenceScoreOptions):
    tol: float = option(1e-6, "how far above the image's minimum a pixel counts as the object", AT_LEAST_0)


@METRICS.register
class ForegroundMass(EvidenceScore):
    __doc__ = __doc__
    name = "foreground-mass"
    display_name = "Foreground mass ratio"
    direction = "higher"
    description = ("share of |s| on the object ÷ the object's share of the image (1 = chance); the object = the "
                   "given masks, else the pixels above the image's background (its minimum)")
    family = "diagnostics"
    reference = ("energy-based pointing game (Wang et al. 2020, Score-CAM, CVPRW) / relevance mass accuracy "
                 "(Arras et al. 2022, CLEVR-XAI, Information Fusion), normalised by the object's area")
    # masks are optional: without them the image's non-background pixels stand in for the object
    Options = ForegroundOptions

    @torch.no_grad()
    def score(self, ctx: Context) -> MetricResult:
        check_map(ctx.images, ctx.saliency, self.name)
        masks = ctx.masks if ctx.masks is not None else foreground(ctx.images.detach().double().cpu(), self.options.tol)
        magnitude, fg = self.evidence(ctx, masks)
        total = magnitude.sum(1)
        share = fg.double().mean(1)
        scores = (magnitude * fg).sum(1) / total / share
        # 0/0 cases: no mass to share out, or no object (or no background) to compare its share with
        problems = {"the map is all zero": total == 0, "the object is empty": share == 0,
                    "the object covers the whole image": share == 1}
        said = [f"{what} for sample(s) {bad.nonzero().flatten().tolist()}" for what, bad in problems.items()
                if bad.any()]
        if said:
            scores[torch.stack(list(problems.values())).any(0)] = math.nan
            warnings.warn(f"{self.name}: {'; '.join(said)}; their score is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(scores.numpy())
