"""AttnLRP for timm ViTs (Achtibat et al. 2024, *AttnLRP: Attention-Aware Layer-Wise Relevance Propagation
for Transformers*, ICML, Sec. 3), on a private copy of the model.

The copy follows the rules of ``_lrp_rules.py``: epsilon rule on every Linear, Conv2d (patch embedding)
and LayerNorm affine output; identity rule for the LayerNorm normalisation and GELU; the softmax's own
Taylor rule (gradient x input); epsilon + uniform rule on q·kᵀ and A·v. Residual sums, the class token and
the position embedding pass relevance by LRP-0 (the latter two absorb their share, like biases). The map is
the input's relevance x ⊙ ∂f/∂x summed over channels, for the target logit f.

Unlike ``lrp`` (CP-LRP, which stops relevance at the attention probabilities), relevance also flows
through the softmax and q·kᵀ into the queries and keys. AttnLRP is not conservative: biases and the
softmax's Taylor bias term absorb part of the logit. ``relevance_budget`` reports per image the target
logit, the input's total relevance and the part the softmaxes absorbed (the ``conservation`` metric
publishes them), so a reader sees how far from conservative a map is.

Not done: the authors' recommended LRP-gamma for ViTs' linear layers (their App. C) and their
"CP-LRP for the softmax" variant; this is the paper's rule set with epsilon everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._lrp_rules import epsilon_output, uniform_matmul
from iabench.baselines._vit import explaining, split_qkv
from iabench.baselines.lrp import _ConservativeLayerNorm, conservative_copy
from iabench.contract import Options, option
from iabench.models import vit_backbone
from iabench.ranges import AT_LEAST_0


class _Ledger:
    """The pre-softmax scores and attention probabilities of the last forward, to measure absorption."""

    def __init__(self) -> None:
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def softmax_absorbed(self) -> torch.Tensor:
        """Per image: relevance into the softmaxes minus relevance out of them, summed over blocks."""
        total = 0
        for scores, probs in self.pairs:
            out_rel, in_rel = probs * probs.grad, scores * scores.grad
            total = total + (out_rel - in_rel).flatten(1).sum(1)
        return total


class _AttnLRPAttention(nn.Module):
    """timm ``Attention``'s forward with AttnLRP's rules on the two products (same weights, same output)."""

    def __init__(self, attn: nn.Module, epsilon: float, ledger: _Ledger) -> None:
        super().__init__()
        if getattr(attn, "gate", None) is not None:
            raise TypeError("AttnLRP has no rule for gated attention")
        self.attn, self.epsilon, self.ledger = attn, epsilon, ledger

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
        if attn_mask is not None or is_causal:
            raise TypeError("AttnLRP here supports unmasked self-attention only")
        attn = self.attn
        batch, tokens, _ = x.shape
        q, k, v = split_qkv(attn, x)
        q, k = attn.q_norm(q), attn.k_norm(k)
        scores = uniform_matmul(q * attn.scale, k.transpose(-2, -1), self.epsilon)
        probs = scores.softmax(dim=-1)
        scores.retain_grad()
        probs.retain_grad()
        self.ledger.pairs.append((scores, probs))
        out = uniform_matmul(probs, v, self.epsilon).transpose(1, 2).reshape(batch, tokens, -1)
        return attn.proj(attn.norm(out))


def attnlrp_copy(model: nn.Module, epsilon: float = 1e-6) -> tuple[nn.Module, _Ledger]:
    """A deep copy of ``model`` whose backward pass computes AttnLRP relevance as gradient x input."""
    clone = conservative_copy(model)  # LayerNorm std and GELU ratio detached: the identity rules
    ledger = _Ledger()
    for module in clone.modules():
        if isinstance(module, nn.Linear | nn.Conv2d | _ConservativeLayerNorm):
            module.register_forward_hook(lambda mod, args, out: epsilon_output(out, epsilon))
    for block in vit_backbone(clone).blocks:
        block.attn = _AttnLRPAttention(block.attn, epsilon, ledger)
    return clone, ledger


@dataclass(frozen=True)
class AttnLRPOptions(Options):
    epsilon: float = option(1e-6, "stabiliser of the epsilon rule's denominators", AT_LEAST_0)


@EXPLAINERS.register
class AttnLRP(Explainer):
    name = "attnlrp"
    display_name = "AttnLRP"
    family = "relevance"
    reference = ("Achtibat et al. 2024, AttnLRP: Attention-Aware Layer-Wise Relevance Propagation for Transformers, "
                 "ICML, Sec. 3")
    description = ("LRP with AttnLRP's rules: epsilon on linear layers, the softmax's Taylor rule, epsilon + uniform "
                   "on q·kᵀ and A·v, identity on LayerNorm and GELU")
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward, on a copy"
    Options = AttnLRPOptions

    def _propagate(self, inputs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, _Ledger]:
        """(input relevance (B, C, H, W), target logits (B,), the ledger of the softmaxes)."""
        clone, ledger = attnlrp_copy(self.model, self.options.epsilon)
        clone.requires_grad_(False)  # relevance only: no parameter gradients (340 MB for ViT-B)
        x = inputs.detach().clone().requires_grad_(True)
        with explaining(clone):
            logits = clone(x)
            chosen = logits.gather(1, target[:, None].to(logits.device)).flatten()
            chosen.sum().backward()  # each image's logit depends on that image only
        return (x * x.grad).detach(), chosen.detach(), ledger

    def relevance_budget(self, inputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per image: the input relevance map (B, C, H, W) and, as (B,) totals, the target ``logit``, the
        ``input`` relevance (the map's sum) and the relevance the softmaxes ``absorbed``."""
        relevance, logit, ledger = self._propagate(inputs, target)
        return {"map": relevance, "logit": logit, "input": relevance.flatten(1).sum(1),
                "absorbed": ledger.softmax_absorbed().detach()}

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._propagate(inputs, target)[0].sum(dim=1)
