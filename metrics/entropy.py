"""Normalised entropy: how spread out a saliency map's mass is over the model's patch grid.

Definition: the mass of patch j is m_j = sum_{x in patch j} |s(x)| (non-overlapping windows of the model's
patch size; option ``level='pixel'`` uses single pixels instead), p_j = m_j / sum_k m_k, and

    score = H(p) / log N,   H(p) = -sum_j p_j log p_j   (0 log 0 = 0),

with N the number of patches (or pixels). The score lies in [0, 1]: 0 = all mass in one patch, 1 = uniform.
Lower is better (more concentrated). An all-zero map has no distribution; it counts as uniform (1.0), the
least concentrated, so that an explainer that says nothing never looks focused. |s| is used because signed
maps (integrated gradients, LRP) put importance in both signs.

Reference: Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI, the
complexity criterion (entropy of the fractional contribution); Shannon entropy. Unlike their per-feature version
we normalise by log N (comparable across image sizes) and work at the patch grid by default, because a
ViT's own explanations (attention, IA-ViT's interpreter) are patch-level and would otherwise be penalised
for their bilinear upsampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from iabench.contract import Context, Options, option
from iabench.metrics._base import METRICS, Metric, MetricResult
from iabench.metrics._checks import check_map, patch_sums
from iabench.models import patch_size_of


@dataclass(frozen=True)
class LevelOptions(Options):
    level: Literal["patch", "pixel"] = option("patch", "the units mass is shared over: the model's patches, or pixels")


@METRICS.register
class Entropy(Metric):
    __doc__ = __doc__
    name = "entropy"
    display_name = "Normalised entropy"
    direction = "lower"
    description = ("normalised entropy of the map's mass |s| over the model's patch grid, H(p)/log N "
                   "(1 = uniform, 0 = one patch; `level: pixel` over pixels)")
    family = "diagnostics"
    reference = ("Bhatt et al. 2020, Evaluating and Aggregating Feature-based Model Explanations, IJCAI "
                 "(complexity), normalised by log N over the patch grid")

    Options = LevelOptions

    @torch.no_grad()
    def score(self, ctx: Context) -> MetricResult:
        model, images, saliency = ctx.model, ctx.images, ctx.saliency
        check_map(images, saliency, self.name)
        magnitude = saliency.detach().double().abs().cpu()  # abs before summing: signs must not cancel
        mass = patch_sums(magnitude, patch_size_of(model)) if self.options.level == "patch" else magnitude.flatten(1)
        total = mass.sum(1, keepdim=True)
        p = mass / torch.where(total > 0, total, 1.0)
        entropy = -torch.special.xlogy(p, p).sum(1)  # xlogy(0, 0) = 0
        n = mass.shape[1]
        scores = entropy / math.log(n) if n > 1 else torch.ones_like(entropy)  # one unit: trivially uniform
        scores[total[:, 0] == 0] = 1.0  # documented: an all-zero map counts as uniform
        return MetricResult(scores.numpy())
