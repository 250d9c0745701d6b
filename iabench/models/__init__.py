"""Models: the plain ViT and IA-ViT on a timm backbone, presets, attention capture."""

from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from ..errors import unknown
from .attention import attention_modules, capture_attention, vit_backbone
from .ia_vit import IAViT, Interpreter
from .presets import PRESETS, get_preset
from .vit import ModelOutput, ViT, build_backbone

MODEL_KINDS = {"vit": ViT, "ia-vit": IAViT}


def create_model(kind: str, config: ModelConfig) -> nn.Module:
    """Build a ``ViT`` ('vit') or ``IAViT`` ('ia-vit') from a model config."""
    if kind not in MODEL_KINDS:
        raise unknown("model kind", kind, MODEL_KINDS)
    return MODEL_KINDS[kind](config)


__all__ = [
    "IAViT", "Interpreter", "MODEL_KINDS", "ModelOutput", "PRESETS", "ViT", "attention_modules",
    "build_backbone", "capture_attention", "create_model", "get_preset", "vit_backbone",
]
