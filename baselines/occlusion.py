"""Occlusion (Zeiler & Fergus 2014, ECCV, Sec. 4.2), via Captum's ``Occlusion``: each patch-sized window
(stride = patch size, all channels) is replaced by zeros (the dataset mean in normalised space) and the
drop of the target logit is the window's score."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from captum.attr import Occlusion

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import eval_mode
from iabench.contract import Options, option
from iabench.models import seam_of
from iabench.ranges import AT_LEAST_1


@dataclass(frozen=True)
class OcclusionOptions(Options):
    perturbations_per_eval: int = option(16, "occluded windows per forward (memory, not the result)", AT_LEAST_1)


@EXPLAINERS.register
class PatchOcclusion(Explainer):
    name = "occlusion"
    display_name = "Occlusion (patch windows)"
    family = "perturbation"
    baseline = "zeros"  # occluded windows become 0, the zeros substrate
    reference = "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks, ECCV, Sec. 4.2"
    description = ("Captum `Occlusion`: drop of the target logit when a patch-sized window (stride = patch) is set "
                   "to zeros (the mean image)")
    signed = True
    cost = "1 + one forward per patch (50 for a 7x7 grid)"
    resolution = "patch"
    Options = OcclusionOptions

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        patch = seam_of(self.model).patch_size
        channels = inputs.shape[1]
        window = (channels, int(patch[0]), int(patch[1]))
        with eval_mode(self.model), torch.no_grad():
            scores = Occlusion(self.model).attribute(
                inputs, sliding_window_shapes=window, strides=window, baselines=0.0, target=target,
                perturbations_per_eval=self.options.perturbations_per_eval)
        return scores.sum(dim=1) / channels
