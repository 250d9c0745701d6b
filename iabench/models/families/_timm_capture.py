"""The attention of a timm ViT in its own training forward (IA-ViT's alignment loss needs it there, with gradients):
``capture_attention`` switches timm's fused path off for a ``with`` block and hooks ``attn_drop``'s output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .timm_vit import vit_backbone


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Yield a list that each forward of the timm model inside the block fills with (B, heads, T, T) attention
    maps, one per block, in order, for the most recent forward (cleared when the first block runs again)."""
    modules = [block.attn for block in vit_backbone(model).blocks]
    for module in modules:
        if not (hasattr(module, "fused_attn") and isinstance(getattr(module, "attn_drop", None), nn.Module)):
            raise TypeError(f"{type(module).__name__} is not a timm Attention module with attn_drop")
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
