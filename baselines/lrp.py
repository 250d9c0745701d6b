"""LRP for ViTs of any family by conservative propagation (CP-LRP), through Captum.

Reference: Ali et al. 2022, *XAI for Transformers: Better Explanations through Conservative
Propagation*, ICML (Sec. 3-4); the basis of AttnLRP (Achtibat et al. 2024, ICML). Bach et al. 2015 for LRP.

Captum's own ``LRP`` has no rule for timm's LayerNorm, GELU, Identity or attention and refuses to run;
forcing the epsilon rule onto them runs but does not conserve relevance (``lrp-captum-naive`` is that
control). CP-LRP instead makes the network locally linear: the seam's forward (``iabench.models.forward``)
over the model's own parameters, with LayerNorm, GELU and the attention probabilities replaced by wrappers
(made afresh at every call, so the user's model is never touched); Captum's ``InputXGradient`` on it is then exactly
LRP-0 (Gradient x Input = LRP-0 for locally linear networks, Ancona et al. 2018, ICLR). The rule for every module
type that forward calls (``RULES``, looked up by exact type; an unknown type is refused with a TypeError), with the
Captum rule it corresponds to:

- Linear, Conv2d (patch embedding), LayerScale: LRP-0 (Captum ``EpsilonRule(0)``) via Gradient x Input.
- LayerNorm: identity-style rule (Captum ``IdentityRule`` in spirit): the standard deviation is detached,
  so the centring (linear) and the affine scale pass relevance in proportion to the contributions.
- GELU: identity-style rule: gelu(x) = x * (gelu(x)/x) with the ratio detached.
- Attention (softmax and the two matmuls): the attention probabilities A are detached, so the value
  product A v is linear in v and relevance flows through the values only; none goes into the q.k^T
  product or the softmax (the "AH rule" of Ali et al.). AttnLRP also splits relevance through the softmax
  and q.k^T; this variant does not. The epsilon-stabilised variant is not implemented (LRP-0 only).
- Residual sums: LRP-0 on the addition (relevance splits in proportion to the two summands).
- Dropout (identity in eval mode), Identity and the seam's containers: relevance passes unchanged. IA-ViT's
  interpreter is not on the predictor's path and receives none.

With every bias, the CLS token and the position embedding set to zero, the conservative network is
homogeneous of degree 1 in the input, so the relevance sums to the target logit (tested, 1e-4 relative).
"""

from __future__ import annotations

import timm.layers
import torch
from captum.attr import InputXGradient
from torch import nn
from torch.nn.modules.linear import NonDynamicallyQuantizableLinear

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining
from iabench.contract import Needs
from iabench.models import SeamForward
from iabench.models.forward import SeamBlock

RULES: dict[type, str] = {
    nn.Linear: "LRP-0 (Gradient x Input)",
    NonDynamicallyQuantizableLinear: "LRP-0 (Gradient x Input)",  # torchvision's attention output projection
    nn.Conv2d: "LRP-0 (Gradient x Input)",
    nn.LayerNorm: "identity: std detached",
    timm.layers.LayerNorm: "identity: std detached",
    nn.GELU: "identity: gelu(x)/x detached",
    nn.Dropout: "identity (eval mode)",
    nn.Identity: "identity",
    timm.layers.LayerScale: "LRP-0 (elementwise linear)",
    nn.ModuleList: "container",
    SeamBlock: "container; residual sums pass relevance in proportion; attention probabilities detached (AH rule), "
               "value path LRP-0",
    SeamForward: "container",
}


def rule_for(module: nn.Module) -> str | None:
    """The rule of ``module``'s exact type (no base-class fallback: a subclass may compute something else)."""
    return RULES.get(type(module))


def missing_rules(model: nn.Module) -> list[str]:
    """Module types the seam's forward of ``model`` calls with no rule in ``RULES`` (empty when all are covered)."""
    forward = model if isinstance(model, SeamForward) else SeamForward(model)
    return sorted({type(m).__name__ for m in forward.modules() if rule_for(m) is None})


class _ConservativeLayerNorm(nn.Module):
    """``norm`` (a LayerNorm, its parameters shared) with the standard deviation detached."""

    def __init__(self, norm: nn.LayerNorm) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        centred = x - x.mean(dim=-1, keepdim=True)
        std = (centred.pow(2).mean(dim=-1, keepdim=True) + norm.eps).sqrt().detach()
        out = centred / std
        if norm.elementwise_affine:
            out = out * norm.weight + (norm.bias if norm.bias is not None else 0)
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


class _Detached(nn.Module):
    """``module``'s output, detached: the attention probabilities as constants (the AH rule)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x).detach()


RULES[_ConservativeLayerNorm] = RULES[nn.LayerNorm]  # the replacements, so the conservative forward passes too
RULES[_ConservativeGELU] = RULES[nn.GELU]
RULES[_Detached] = "attention probabilities detached (AH rule)"


def conservative_wrap(module: nn.Module, role: str, detach_attention: bool = True) -> nn.Module:
    """The replacement of one module of the seam's forward under CP-LRP's rules (``SeamForward``'s ``wrap``)."""
    if isinstance(module, nn.LayerNorm):
        return _ConservativeLayerNorm(module)
    if isinstance(module, nn.GELU):
        return _ConservativeGELU(module)
    if role == "probabilities" and detach_attention:
        return _Detached(module)
    return module


def check_rules(model: nn.Module) -> None:
    """A TypeError naming the module types of the seam's forward that CP-LRP has no rule for."""
    missing = missing_rules(model)
    if missing:
        raise TypeError(f"CP-LRP has no rule for module type(s) {', '.join(missing)}")


def conservative_forward(model: nn.Module, detach_attention: bool = True) -> SeamForward:
    """The seam's forward of ``model`` with its LayerNorms and GELUs under the CP-LRP identity rules and, when
    ``detach_attention``, its attention probabilities detached; a module type with no rule is a TypeError."""
    forward = SeamForward(model, lambda module, role: conservative_wrap(module, role, detach_attention))
    check_rules(forward)  # the wrappers have rules and hold the model's modules: an unknown type is still seen
    return forward


@EXPLAINERS.register
class ConservativeLRP(Explainer):
    name = "lrp"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "LRP (CP-LRP, Captum)"
    family = "relevance"
    reference = "Ali et al. 2022, XAI for Transformers: Better Explanations through Conservative Propagation, ICML"
    description = ("CP-LRP: Captum `InputXGradient` on the seam's forward with LayerNorm std, GELU ratio and "
                   "attention probabilities detached (LRP-0)")
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # A fresh forward per call over the model's own parameters: never stale after training.
        forward = conservative_forward(self.model)
        with explaining(forward):
            relevance = InputXGradient(forward).attribute(inputs.clone().requires_grad_(True), target=target)
        return relevance.sum(dim=1)
