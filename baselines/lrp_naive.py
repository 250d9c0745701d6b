"""Naive LRP through Captum's ``LRP``: a labelled control, not a faithful LRP for transformers.

Reference: Bach et al. 2015, *On Pixel-Wise Explanations for Non-Linear Classifier Decisions by Layer-Wise
Relevance Propagation*, PLoS ONE; Captum's implementation (``captum.attr.LRP``).

Captum's LRP only knows rules for Linear/Conv/pooling/BatchNorm layers and refuses to run on a ViT (LayerNorm,
GELU and Identity have no rule). Here every module the seam's forward calls (``iabench.models.forward``) is
copied and gets an explicit rule: ``IdentityRule`` for the norms and the activation; ``EpsilonRule`` for the
linear layers, the patch embedding, LayerScale and the module the attention probabilities pass through (a
dropout in eval or an identity returns its input tensor itself, so Captum's IdentityRule, which hooks input and
output, would hook one tensor twice and fail; epsilon on x -> x passes relevance unchanged). The operations that
are not modules (the q.k^T and A.v matmuls, the softmax, the residual sums, the token reshapes) are
differentiated by plain autograd, i.e. not LRP at all. The result runs
and is finite, but its sum is far from the target logit (orders of magnitude) and it does not follow the
model: it is registered so the benchmark can show what a careless LRP gives.
Use ``lrp`` (CP-LRP) for the real method.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from captum.attr import LRP
from captum.attr._utils.lrp_rules import EpsilonRule, IdentityRule
from torch import nn

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining
from iabench.contract import Needs, Options, option
from iabench.models import SeamForward
from iabench.ranges import AT_LEAST_0


def with_naive_rules(model: nn.Module, epsilon: float = 1e-9) -> nn.Module:
    """The seam's forward of ``model`` over copies of its modules, a Captum rule attached to each."""

    def ruled(module: nn.Module, role: str) -> nn.Module:
        module = copy.deepcopy(module).eval()
        module.rule = IdentityRule() if role in ("norm", "act") else EpsilonRule(epsilon)
        return module

    return SeamForward(model, ruled)


@dataclass(frozen=True)
class NaiveLRPOptions(Options):
    epsilon: float = option(1e-9, "Captum's epsilon rule stabiliser, forced on every layer", AT_LEAST_0)


@EXPLAINERS.register
class NaiveCaptumLRP(Explainer):
    name = "lrp-captum-naive"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "LRP, naive Captum rules (control)"
    family = "control"
    reference = "Bach et al. 2015, Layer-Wise Relevance Propagation, PLoS ONE (Captum LRP, naive rules)"
    description = "Captum `LRP` with a rule forced on every module: what a careless LRP gives"
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward, on a copy"
    Options = NaiveLRPOptions

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        clone = with_naive_rules(self.model, self.options.epsilon)
        with explaining(clone):
            relevance = LRP(clone).attribute(inputs.detach().clone().requires_grad_(True), target=target)
        # Epsilon-rule denominators near zero can overflow; keep the contract (finite) explicitly.
        return torch.nan_to_num(relevance.sum(dim=1), nan=0.0, posinf=0.0, neginf=0.0)
