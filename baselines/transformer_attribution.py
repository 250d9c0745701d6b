"""Transformer attribution (Chefer, Gur & Wolf 2021, CVPR, Eq. 13-14): attention relevance weighted by
attention gradients, rolled out over the blocks.

Per block, Ā = I + E_h[(∇A ⊙ R_A)+], where ∇A is the gradient of the target logit with respect to the
attention probabilities and R_A their LRP relevance; C = Ā_L ... Ā_1, explanation = C's CLS row over the
patch tokens.

- ``transformer-attribution``: R_A from the paper's own LRP with the rules of the authors' code
  (``_chefer_lrp.py``: alpha1-beta0 on linear layers, LayerNorm, GELU and softmax passing relevance
  unchanged, halved gradient x input on the two products, the normalised residual rule, relevance 1 on
  the target class).
- ``transformer-attribution-cp``: the cheaper stand-in iabench shipped first: R_A = A ⊙ ∂f/∂A in the CP-LRP
  copy (LayerNorm std and GELU ratio detached, see ``lrp.py``), i.e. LRP-0 down to each attention map,
  with no alpha-beta rule and no normalisation of residual sums. Its maps differ; both are kept so that the
  difference can be measured.
"""

from __future__ import annotations

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._chefer_lrp import attention_relevance
from iabench.baselines._vit import attention_with_grads, cls_row, prefix_of, to_grid
from iabench.baselines.generic_attention import accumulate
from iabench.baselines.lrp import conservative_forward
from iabench.contract import Needs

REFERENCE = "Chefer, Gur & Wolf 2021, Transformer Interpretability Beyond Attention Visualization, CVPR, Eq. 13-14"


def gradient_weighted_rollout(model: torch.nn.Module, grads: list[torch.Tensor],
                              relevances: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 13-14: R ← R + E_h[(∇A ⊙ R_A)+] R over the blocks from R = I; R's CLS row as a patch grid."""
    weighted = [(g * r).clamp(min=0).mean(dim=1) for g, r in zip(grads, relevances)]
    return to_grid(cls_row(accumulate(weighted), prefix_of(model)), model)


@EXPLAINERS.register
class TransformerAttribution(Explainer):
    name = "transformer-attribution"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "Transformer attribution (Chefer CVPR'21)"
    family = "relevance"
    reference = REFERENCE
    description = ("R ← R + Ā R over the blocks from R = I, Ā = E_h[(∇A ⊙ R_A)+], R_A from the authors' LRP "
                   "(alpha1-beta0, normalised residuals); R's CLS row")
    signed = False
    cost = "2 forwards + 1 backward + 1 relevance pass"
    resolution = "patch"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _, grads = attention_with_grads(self.model, inputs, target)
        return gradient_weighted_rollout(self.model, grads, attention_relevance(self.model, inputs, target))


@EXPLAINERS.register
class TransformerAttributionCP(Explainer):
    name = "transformer-attribution-cp"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "Transformer attribution, CP-LRP relevance"
    family = "relevance"
    reference = REFERENCE + "; R_A from CP-LRP (Ali et al. 2022, ICML) instead of the paper's LRP"
    description = "as transformer-attribution, but R_A = A ⊙ ∂f/∂A in the CP-LRP copy (LRP-0, no alpha-beta)"
    signed = False
    cost = "2 forwards + 2 backwards"
    resolution = "patch"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Gradients of the model; relevance from a fresh conservative forward (never stale after training).
        _, grads = attention_with_grads(self.model, inputs, target)
        cp_attentions, cp_grads = attention_with_grads(conservative_forward(self.model, detach_attention=False),
                                                        inputs, target)
        return gradient_weighted_rollout(self.model, grads, [a * g for a, g in zip(cp_attentions, cp_grads)])
