"""AttnLRP for ViTs of any family (Achtibat et al. 2024, *AttnLRP: Attention-Aware Layer-Wise Relevance
Propagation for Transformers*, ICML, Sec. 3), on the seam's forward over the model's own parameters.

That forward follows the rules of ``_lrp_rules.py``: epsilon rule on every Linear, Conv2d (patch embedding)
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
from iabench.baselines._vit import explaining
from iabench.baselines.lrp import _ConservativeLayerNorm, check_rules, conservative_wrap
from iabench.contract import Needs, Options, option
from iabench.models import SeamForward
from iabench.models.forward import SeamBlock
from iabench.ranges import AT_LEAST_0


class _Ledger:
    """The pre-softmax scores and attention probabilities of the last forward, to measure absorption."""

    def __init__(self) -> None:
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.grads: list[tuple[torch.Tensor, torch.Tensor]] = []  # their gradients, once the backward ran

    def tensors(self) -> list[torch.Tensor]:
        return [t for pair in self.pairs for t in pair]

    def keep_grads(self, grads: list[torch.Tensor]) -> None:
        self.grads = list(zip(grads[::2], grads[1::2]))

    def softmax_absorbed(self) -> torch.Tensor:
        """Per image: relevance into the softmaxes minus relevance out of them, summed over blocks."""
        total = 0
        for (scores, probs), (scores_grad, probs_grad) in zip(self.pairs, self.grads):
            out_rel, in_rel = probs * probs_grad, scores * scores_grad
            total = total + (out_rel - in_rel).flatten(1).sum(1)
        return total


# the modules whose outputs take the epsilon rule
EPSILON_TYPES = (nn.Linear, nn.Conv2d, _ConservativeLayerNorm)


class _Epsilon(nn.Module):
    """``module``'s output with the epsilon rule in its backward (a Linear, Conv2d or LayerNorm's affine part)."""

    def __init__(self, module: nn.Module, epsilon: float) -> None:
        super().__init__()
        self.module, self.epsilon = module, epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return epsilon_output(self.module(x), self.epsilon)


class AttnLRPForward(SeamForward):
    """The conservative forward (LayerNorm std and GELU ratio detached: the identity rules) with the epsilon rule
    on every linear layer, patch embedding and LayerNorm, and the uniform rule on q·kᵀ and A·v."""

    def __init__(self, model: nn.Module, epsilon: float = 1e-6) -> None:
        check_rules(model)

        def wrap(module: nn.Module, role: str) -> nn.Module:
            module = conservative_wrap(module, role, detach_attention=False)
            return _Epsilon(module, epsilon) if isinstance(module, EPSILON_TYPES) else module

        super().__init__(model, wrap)
        self.epsilon, self.ledger = epsilon, _Ledger()

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return uniform_matmul(a, b, self.epsilon)

    def attend(self, scores: torch.Tensor, step: SeamBlock) -> torch.Tensor:
        probs = scores.softmax(dim=-1)  # the softmax's own rule is its gradient x input: no change
        self.ledger.pairs.append((scores, probs))
        return probs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.ledger.pairs.clear()
        return super().forward(images)


@dataclass(frozen=True)
class AttnLRPOptions(Options):
    epsilon: float = option(1e-6, "stabiliser of the epsilon rule's denominators", AT_LEAST_0)


@EXPLAINERS.register
class AttnLRP(Explainer):
    name = "attnlrp"
    needs = Needs(target=True, vit=True)  # reads the ViT's tokens and attention
    display_name = "AttnLRP"
    family = "relevance"
    reference = ("Achtibat et al. 2024, AttnLRP: Attention-Aware Layer-Wise Relevance Propagation for Transformers, "
                 "ICML, Sec. 3")
    description = ("LRP with AttnLRP's rules: epsilon on linear layers, the softmax's Taylor rule, epsilon + uniform "
                   "on q·kᵀ and A·v, identity on LayerNorm and GELU")
    signed = True
    decomposes_logit = True
    cost = "1 forward + 1 backward"
    Options = AttnLRPOptions

    def _propagate(self, inputs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, _Ledger]:
        """(input relevance (B, C, H, W), target logits (B,), the ledger of the softmaxes)."""
        forward = AttnLRPForward(self.model, self.options.epsilon)
        x = inputs.detach().clone().requires_grad_(True)
        with explaining(forward):
            logits = forward(x)
            chosen = logits.gather(1, target[:, None].to(logits.device)).flatten()
            # relevance only, no parameter gradients (the user's model is untouched); each image's logit depends
            # on that image alone, so one backward of the sum serves the batch
            grads = torch.autograd.grad(chosen.sum(), [x, *forward.ledger.tensors()])
        forward.ledger.keep_grads(list(grads[1:]))
        return (x * grads[0]).detach(), chosen.detach(), forward.ledger

    def relevance_budget(self, inputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per image: the input relevance map (B, C, H, W) and, as (B,) totals, the target ``logit``, the
        ``input`` relevance (the map's sum) and the relevance the softmaxes ``absorbed``."""
        relevance, logit, ledger = self._propagate(inputs, target)
        return {"map": relevance, "logit": logit, "input": relevance.flatten(1).sum(1),
                "absorbed": ledger.softmax_absorbed().detach()}

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._propagate(inputs, target)[0].sum(dim=1)
