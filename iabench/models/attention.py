"""Capture the attention probabilities of a timm ViT, only when asked.

timm's ``Attention`` computes attention with ``F.scaled_dot_product_attention`` (fused) unless
``fused_attn`` is False; only the unfused path materialises the probabilities, which it passes
through ``attn_drop``. ``capture_attention`` switches the fused path off for the duration of a
``with`` block and hooks ``attn_drop``'s output (the probabilities the block really uses, graph
attached, so explainers can take gradients with respect to them). Outside the block the model is
exactly as before: ordinary forwards stay fused and pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention modules of a timm ViT, in forward order (one per block)."""
    backbone = vit_backbone(model)
    modules = [block.attn for block in backbone.blocks]
    for module in modules:
        if not (hasattr(module, "fused_attn") and isinstance(getattr(module, "attn_drop", None), nn.Module)):
            raise TypeError(f"{type(module).__name__} is not a timm Attention module with attn_drop")
    return modules


def vit_backbone(model: nn.Module) -> VisionTransformer:
    """The timm ``VisionTransformer`` inside ``model`` (ours wrap it as ``.backbone``)."""
    if isinstance(model, VisionTransformer):
        return model
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, VisionTransformer):
        return backbone
    raise TypeError(f"expected a timm VisionTransformer or a model with .backbone, got {type(model).__name__}")


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Yield a list that each forward inside the block fills with (B, heads, T, T) attention maps.

    The list holds one tensor per block, in order, for the most recent forward (it is cleared when
    the first block runs again).
    """
    modules = attention_modules(model)
    captured: list[torch.Tensor] = []
    first = modules[0].attn_drop

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if module is first:
            captured.clear()
        captured.append(output)

    saved = [m.fused_attn for m in modules]
    handles = []
    try:
        for m in modules:
            m.fused_attn = False
            handles.append(m.attn_drop.register_forward_hook(hook))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
        for m, fused in zip(modules, saved):
            m.fused_attn = fused
