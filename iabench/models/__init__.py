"""Models: the plain ViT and IA-ViT on a timm backbone, presets, and the seam through which explainers and metrics
read a ViT of any family (``seam.py``, ``forward.py``, ``families/``)."""

from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from ..errors import unknown
from .families._timm_capture import capture_attention
from .families.timm_vit import vit_backbone
from .forward import SeamForward
from .ia_vit import IAViT, Interpreter
from .lookup import as_classifier, explainable, is_feature_map, patch_size_of, seam_of
from .presets import PRESETS, get_preset
from .seam import Seam, UnsupportedModel
from .vit import ModelOutput, ViT, build_backbone

MODEL_KINDS = {"vit": ViT, "ia-vit": IAViT}


def create_model(kind: str, config: ModelConfig) -> nn.Module:
    """Build a ``ViT`` ('vit') or ``IAViT`` ('ia-vit') from a model config."""
    if kind not in MODEL_KINDS:
        raise unknown("model kind", kind, MODEL_KINDS)
    return MODEL_KINDS[kind](config)


__all__ = [
    "IAViT", "Interpreter", "MODEL_KINDS", "ModelOutput", "PRESETS", "Seam", "SeamForward", "UnsupportedModel", "ViT",
    "as_classifier", "build_backbone", "capture_attention", "create_model", "explainable", "get_preset",
    "is_feature_map", "patch_size_of", "seam_of", "vit_backbone",
]
