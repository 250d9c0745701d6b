"""Raw attention: the last block's CLS -> patch attention, averaged over heads.

Reference: the common baseline of Abnar & Zuidema 2020 (Sec. 2) and Chefer et al. 2021 (CVPR, "raw
attention"); one forward pass with the attention probabilities captured.
"""

from __future__ import annotations

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import attention_maps, explaining, prefix_of, to_grid
from iabench.contract import Needs


@EXPLAINERS.register
class RawAttention(Explainer):
    name = "attention"
    display_name = "Raw attention (last layer)"
    family = "attention"
    reference = "Abnar & Zuidema 2020, Quantifying Attention Flow in Transformers, ACL (raw attention)"
    description = "last block's CLS→patch attention, mean over heads"
    signed = False
    cost = "1 forward"
    resolution = "patch"
    needs = Needs(vit=True)  # the map ignores the target

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with explaining(self.model):
            last = attention_maps(self.model, inputs)[-1]
        return to_grid(last.mean(dim=1)[:, 0, prefix_of(self.model):], self.model)
