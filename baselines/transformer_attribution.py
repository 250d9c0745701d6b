"""Transformer attribution (Chefer, Gur & Wolf 2021, CVPR, Eq. 13-14): attention relevance weighted by
attention gradients, rolled out over the blocks.

Per block, Ā = I + E_h[(∇A ⊙ R_A)+], where ∇A is the gradient of the target logit with respect to the
attention probabilities and R_A their LRP relevance; C = Ā_L ... Ā_1, explanation = C's CLS row over
the patch tokens. Chefer et al. obtain R_A with their own LRP rules; here R_A is the Gradient x Input
relevance of the attention probabilities in the CP-LRP copy of the model (LayerNorm std and GELU ratio
detached, see ``lrp.py``), i.e. LRP-0 through the attention-value product. State this when comparing.
"""

from __future__ import annotations

import torch

from iabench.baselines import EXPLAINERS, Explainer
from iabench.baselines._vit import attention_with_grads, cls_row, prefix_of, to_grid
from iabench.baselines.generic_attention import accumulate
from iabench.baselines.lrp import conservative_copy


@EXPLAINERS.register("transformer-attribution")
class TransformerAttribution(Explainer):
    name = "transformer-attribution"
    display_name = "Transformer attribution (Chefer CVPR'21)"
    family = "relevance"
    reference = "Chefer, Gur & Wolf 2021, Transformer Interpretability Beyond Attention Visualization, CVPR"
    description = "R ← R + Ā R over the blocks from R = I, Ā = E_h[(∇A ⊙ R_A)+], R_A from the CP-LRP copy; R's CLS row"
    signed = False

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Gradients of the real model; relevance R_A = A * dA of a fresh conservative copy (not cached, so
        # it never goes stale when the model is trained between calls).
        _, grads = attention_with_grads(self.model, inputs, target)
        cp_attentions, cp_grads = attention_with_grads(conservative_copy(self.model), inputs, target)
        weighted = [(g * (a_cp * g_cp)).clamp(min=0).mean(dim=1)
                    for g, a_cp, g_cp in zip(grads, cp_attentions, cp_grads)]
        return to_grid(cls_row(accumulate(weighted), prefix_of(self.model)), self.model)
