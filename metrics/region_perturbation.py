"""Region perturbation (AOPC) (Quantus ``RegionPerturbation``).

Regions of ``patch_size`` x ``patch_size`` pixels (default: the ViT's patch, 4 on the 28x28 default model,
16 on ViT-B/16; 8, Quantus' default, for other models) perturbed most relevant
first (MoRF), 20 regions; the per-sample score is the mean of the curve of output drops (AOPC). Higher is
better.

Reference: Samek et al. 2017, Evaluating the Visualization of What a Deep Neural Network Has Learned, IEEE TNNLS.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iabench.metrics._base import METRICS
from iabench.metrics._quantus import QuantusMetric
from iabench.models import patch_size_of


@METRICS.register
class RegionPerturbationMetric(QuantusMetric):
    __doc__ = __doc__
    name = "region-perturbation"
    display_name = "Region perturbation (AOPC)"
    direction = "higher"
    description = ("Quantus `RegionPerturbation` (20 regions of the ViT's patch size, MoRF): mean output drop as "
                   "regions are perturbed most relevant first (AOPC)")
    family = "faithfulness"
    reference = "Samek et al. 2017, Evaluating the Visualization of What a Deep Neural Network Has Learned, IEEE TNNLS"
    quantus_class = "RegionPerturbation"
    defaults = {"regions_evaluation": 20, "order": "morf"}
    output = "curve-mean"

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        return {"patch_size": patch_size_of(model, default=8)[0]}  # 8 for a model that is not a ViT
