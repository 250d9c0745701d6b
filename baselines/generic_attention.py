"""Generic attention-model explainability (Chefer, Gur & Wolf 2021, ICCV, Eq. 5-6, self-attention case).

Relevance starts as the identity R = I (T x T); for each block, the head-mean of the positive part of
gradient x attention, Ā = E_h[(∇A ⊙ A)+], updates R <- R + Ā R. The explanation is R's CLS row over the
patch tokens. Needs every block's attention probabilities and their gradients (one forward, one backward).
"""

from __future__ import annotations

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import attention_with_grads, cls_row, prefix_of, to_grid
from iabench.contract import Needs


def accumulate(weighted: list[torch.Tensor]) -> torch.Tensor:
    """R = I; R <- R + Ā R for each block's (B, T, T) Ā, in forward order."""
    batch, tokens = weighted[0].shape[0], weighted[0].shape[-1]
    relevance = torch.eye(tokens, device=weighted[0].device, dtype=weighted[0].dtype).expand(batch, -1, -1)
    for step in weighted:
        relevance = relevance + step @ relevance
    return relevance


@EXPLAINERS.register
class GenericAttention(Explainer):
    name = "generic-attention"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "Generic attention (Chefer ICCV'21)"
    family = "attention"
    reference = "Chefer, Gur & Wolf 2021, Generic Attention-model Explainability, ICCV, Eq. 5-6"
    description = "R ← R + Ā R over the blocks from R = I, Ā = E_h[(∇A ⊙ A)+]; R's CLS row"
    signed = False
    cost = "1 forward + 1 backward"
    resolution = "patch"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        attentions, grads = attention_with_grads(self.model, inputs, target)
        weighted = [(g * a).clamp(min=0).mean(dim=1) for a, g in zip(attentions, grads)]
        return to_grid(cls_row(accumulate(weighted), prefix_of(self.model)), self.model)
