"""LRP for timm ViTs by conservative propagation (CP-LRP), through Captum.

Reference: Ali et al. 2022, *XAI for Transformers: Better Explanations through Conservative
Propagation*, ICML (Sec. 3-4); the basis of AttnLRP (Achtibat et al. 2024, ICML). Bach et al. 2015 for LRP.

Captum's own ``LRP`` has no rule for timm's LayerNorm, GELU, Identity or attention and refuses to run;
forcing the epsilon rule onto them runs but does not conserve relevance (``lrp-captum-naive`` is that
control). CP-LRP instead makes the network locally linear on a private deep copy of the model (made afresh
at every call, so the user's model is never touched); Captum's ``InputXGradient`` on that copy is then
exactly LRP-0 (Gradient x Input = LRP-0 for locally linear networks, Ancona et al. 2018, ICLR).
The rule for every module type of a timm ViT (``RULES``, looked up by exact type; an unknown type is
refused with a TypeError), with the Captum rule it corresponds to:

- Linear, Conv2d (patch embedding), LayerScale: LRP-0 (Captum ``EpsilonRule(0)``) via Gradient x Input.
- LayerNorm: identity-style rule (Captum ``IdentityRule`` in spirit): the standard deviation is detached,
  so the centring (linear) and the affine scale pass relevance in proportion to the contributions.
- GELU: identity-style rule: gelu(x) = x * (gelu(x)/x) with the ratio detached.
- Attention (softmax and the two matmuls): the attention probabilities A are detached, so the value
  product A v is linear in v and relevance flows through the values only; none goes into the q.k^T
  product or the softmax (the "AH rule" of Ali et al.). AttnLRP also splits relevance through the softmax
  and q.k^T; this variant does not. The epsilon-stabilised variant is not implemented (LRP-0 only).
- Residual sums: LRP-0 on the addition (relevance splits in proportion to the two summands).
- Dropout, DropPath (identities in eval mode), Identity and containers (Block, Mlp, PatchEmbed,
  Sequential, the ViT itself): relevance passes unchanged. IA-ViT's interpreter is not on the
  predictor's path and receives none.

With every bias, the CLS token and the position embedding set to zero, the conservative network is
homogeneous of degree 1 in the input, so the relevance sums to the target logit (tested, 1e-4 relative).
"""

from __future__ import annotations

import copy

import timm.layers
import torch
from captum.attr import InputXGradient
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining
from iabench.models import capture_attention, vit_backbone
from iabench.models.ia_vit import IAViT, Interpreter
from iabench.models.vit import ViT

RULES: dict[type, str] = {
    nn.Linear: "LRP-0 (Gradient x Input)",
    nn.Conv2d: "LRP-0 (Gradient x Input)",
    nn.LayerNorm: "identity: std detached",
    timm.layers.LayerNorm: "identity: std detached",
    nn.GELU: "identity: gelu(x)/x detached",
    nn.Dropout: "identity (eval mode)",
    nn.Identity: "identity",
    timm.layers.DropPath: "identity (eval mode)",
    timm.layers.LayerScale: "LRP-0 (elementwise linear)",
    timm.layers.Attention: "attention probabilities detached (AH rule); value path LRP-0",
    timm.layers.Mlp: "container",
    timm.layers.PatchEmbed: "container",
    Block: "container; residual sums pass relevance in proportion",
    nn.Sequential: "container",
    VisionTransformer: "container",
    ViT: "container",
    IAViT: "container (the interpreter is not on the predictor's path)",
    Interpreter: "not on the predictor's path",
}


def rule_for(module: nn.Module) -> str | None:
    """The rule of ``module``'s exact type (no base-class fallback: a subclass may compute something else)."""
    return RULES.get(type(module))


def missing_rules(model: nn.Module) -> list[str]:
    """Module types in ``model`` with no rule in ``RULES`` (empty when every module is covered)."""
    return sorted({type(m).__name__ for m in model.modules() if rule_for(m) is None})


class _ConservativeLayerNorm(nn.LayerNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(dim=-1, keepdim=True)
        std = (centred.pow(2).mean(dim=-1, keepdim=True) + self.eps).sqrt().detach()
        out = centred / std
        if self.elementwise_affine:
            out = out * self.weight + (self.bias if self.bias is not None else 0)
        return out


class _ConservativeGELU(nn.Module):
    """x * (act(x) / x) with the ratio detached; wraps the original module (keeps e.g. its tanh approximation)."""

    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nonzero = x.abs() > 1e-6
        ratio = torch.where(nonzero, self.act(x) / torch.where(nonzero, x, torch.ones_like(x)),
                            torch.full_like(x, 0.5))  # gelu'(0) = 0.5, the limit of gelu(x)/x at 0
        return x * ratio.detach()


RULES[_ConservativeLayerNorm] = RULES[nn.LayerNorm]  # the copy's replacements, so a copy also passes the walk
RULES[_ConservativeGELU] = RULES[nn.GELU]


def conservative_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose LayerNorms and GELUs follow the CP-LRP identity rules."""
    missing = missing_rules(model)
    if missing:
        raise TypeError(f"CP-LRP has no rule for module type(s) {', '.join(missing)}")
    clone = copy.deepcopy(model).eval()
    for module in list(clone.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.LayerNorm) and not isinstance(child, _ConservativeLayerNorm):
                replacement = _ConservativeLayerNorm(child.normalized_shape, eps=child.eps,
                                                     elementwise_affine=child.elementwise_affine)
                replacement.load_state_dict(child.state_dict())
                if child.weight is not None:  # the original's device and dtype (a half-precision model stays half)
                    replacement = replacement.to(device=child.weight.device, dtype=child.weight.dtype)
                setattr(module, name, replacement)
            elif isinstance(child, nn.GELU):
                setattr(module, name, _ConservativeGELU(child))
    return clone


class _DetachedAttentionForward(nn.Module):
    """Forward of the conservative copy with every attention matrix detached (the softmax rule)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.modules_ = [block.attn for block in vit_backbone(model).blocks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        handles = [m.attn_drop.register_forward_hook(lambda mod, i, out: out.detach()) for m in self.modules_]
        try:
            with capture_attention(self.model):  # unfused path, so the hook sees the probabilities
                return self.model(x)
        finally:
            for handle in handles:
                handle.remove()


@EXPLAINERS.register
class ConservativeLRP(Explainer):
    name = "lrp"
    display_name = "LRP (CP-LRP, Captum)"
    family = "relevance"
    reference = "Ali et al. 2022, XAI for Transformers: Better Explanations through Conservative Propagation, ICML"
    description = ("CP-LRP: Captum `InputXGradient` on a copy with LayerNorm std, GELU ratio and attention "
                   "probabilities detached (LRP-0)")
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward, on a copy"

    def conservative_forward(self) -> nn.Module:
        # A fresh copy per call: a cached one would go stale if the model is trained between calls.
        return _DetachedAttentionForward(conservative_copy(self.model))

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        forward = self.conservative_forward()
        with explaining(forward):
            relevance = InputXGradient(forward).attribute(inputs.clone().requires_grad_(True), target=target)
        return relevance.sum(dim=1)
