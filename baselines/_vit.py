"""Shared plumbing for the explainers: attention with gradients, patch maps (and the modes of ``iabench.modes``).
Everything here reads the model through the seam (``iabench.models.seam``), whatever its family."""

from __future__ import annotations

import torch
from torch import nn

from iabench.models import SeamForward, seam_of
from iabench.modes import eval_mode, explaining

__all__ = ["attention_maps", "attention_with_grads", "cls_row", "eval_mode", "explaining", "grid_of", "prefix_of",
           "to_grid"]


def grid_of(model: nn.Module) -> tuple[int, int]:
    return seam_of(model).grid


def prefix_of(model: nn.Module) -> int:
    return seam_of(model).num_prefix_tokens


def to_grid(patch_scores: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """(B, P) patch scores -> (B, rows, cols)."""
    return seam_of(model).to_grid(patch_scores)


def attention_maps(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Every block's attention probabilities (B, heads, T, T), no gradients."""
    forward = SeamForward(model)
    with torch.no_grad(), eval_mode(forward), forward.capturing() as captured:
        forward(inputs)
    return [a.detach() for a in captured]


def attention_with_grads(model: nn.Module, inputs: torch.Tensor,
                         target: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Every block's attention probabilities and the gradients of the target logits with respect to them.

    The target logits of all images are summed before differentiating: each image's logit depends on
    its own attention only, so the per-image gradients are exact (and batch-invariant).
    """
    # The input requires grad so that the attention has a graph even when the model's parameters are frozen.
    inputs = inputs.detach().clone().requires_grad_(True)
    forward = model if isinstance(model, SeamForward) else SeamForward(model)
    with explaining(forward), forward.capturing() as captured:
        logits = forward(inputs)
        score = logits.gather(1, target[:, None]).sum()
        grads = torch.autograd.grad(score, list(captured))
    return [a.detach() for a in captured], [g.detach() for g in grads]


def cls_row(relevance: torch.Tensor, prefix: int) -> torch.Tensor:
    """The CLS token's row of a (B, T, T) relevance matrix, patch columns only -> (B, P)."""
    return relevance[:, 0, prefix:]
