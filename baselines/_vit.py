"""Shared plumbing for the explainers: attention with gradients, patch maps (and the modes of ``iabench.modes``)."""

from __future__ import annotations

import torch
from torch import nn

from iabench.models import capture_attention, vit_backbone
from iabench.modes import eval_mode, explaining

__all__ = ["attention_maps", "attention_with_grads", "cls_row", "eval_mode", "explaining", "grid_of", "prefix_of",
           "split_qkv", "to_grid"]


def grid_of(model: nn.Module) -> tuple[int, int]:
    return tuple(vit_backbone(model).patch_embed.grid_size)  # type: ignore[return-value]


def prefix_of(model: nn.Module) -> int:
    return vit_backbone(model).num_prefix_tokens


def to_grid(patch_scores: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """(B, P) patch scores -> (B, rows, cols)."""
    rows, cols = grid_of(model)
    return patch_scores.reshape(-1, rows, cols)


def attention_maps(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Every block's attention probabilities (B, heads, T, T), no gradients."""
    with torch.no_grad(), capture_attention(model) as captured:
        model(inputs)
    return [a.detach() for a in captured]


def attention_with_grads(model: nn.Module, inputs: torch.Tensor,
                         target: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Every block's attention probabilities and the gradients of the target logits with respect to them.

    The target logits of all images are summed before differentiating: each image's logit depends on
    its own attention only, so the per-image gradients are exact (and batch-invariant).
    """
    # The input requires grad so that the attention has a graph even when the model's parameters are frozen.
    inputs = inputs.detach().clone().requires_grad_(True)
    with explaining(model), capture_attention(model) as captured:
        logits = model(inputs)
        score = logits.gather(1, target[:, None]).sum()
        grads = torch.autograd.grad(score, list(captured))
    return [a.detach() for a in captured], [g.detach() for g in grads]


def split_qkv(attn: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q, k, v (B, heads, T, head width) of timm ``Attention`` ``attn`` on tokens ``x`` (B, T, D), as its forward."""
    batch, tokens, _ = x.shape
    qkv = attn.qkv(x).reshape(batch, tokens, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    return qkv.unbind(0)


def cls_row(relevance: torch.Tensor, prefix: int) -> torch.Tensor:
    """The CLS token's row of a (B, T, T) relevance matrix, patch columns only -> (B, P)."""
    return relevance[:, 0, prefix:]
