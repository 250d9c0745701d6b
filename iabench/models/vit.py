"""The plain ViT: a timm VisionTransformer backbone and its CLS head."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from ..config import ModelConfig
from ..errors import UserError
from .families._timm_capture import capture_attention
from .families.timm_vit import create_timm_vit


class ModelOutput(NamedTuple):
    """Everything one forward can report. ``inter_*`` are None for the plain ViT."""

    logits: torch.Tensor  # predictor (CLS head), (B, classes)
    inter_logits: torch.Tensor | None  # IA-ViT interpreter, (B, classes)
    encoder_attn: list[torch.Tensor]  # one (B, heads, T, T) per block; empty unless asked
    inter_attn: torch.Tensor | None  # IA-ViT interpreter attention, (B, P, P)


def build_backbone(config: ModelConfig) -> VisionTransformer:
    """Create the timm backbone; ``pretrained`` is '' (random), 'hub' or a local checkpoint path."""
    if config.img_size % config.patch_size:
        raise UserError(
            f"image size {config.img_size} is not divisible by patch size {config.patch_size}; "
            "set model.img_size (and data.img_size) to a multiple of model.patch_size"
        )
    kwargs: dict[str, object] = dict(
        img_size=config.img_size,
        patch_size=config.patch_size,
        in_chans=config.in_chans,
        num_classes=config.num_classes,
        drop_rate=config.drop_rate,
        drop_path_rate=config.drop_path_rate,
    )
    for key in ("embed_dim", "depth", "num_heads", "mlp_ratio"):
        value = getattr(config, key)
        if value is not None:
            kwargs[key] = value
    pretrained = config.pretrained
    if pretrained and pretrained != "hub":
        # timm's own loader (head dropped when classes differ, position embeddings resampled when the
        # grid differs, patch embedding adapted to in_chans), pointed at a local file.
        if not Path(pretrained).is_file():
            raise UserError(f"pretrained checkpoint '{pretrained}' does not exist; give a file path or 'hub'")
        kwargs["pretrained_cfg_overlay"] = dict(file=str(pretrained))
    return create_timm_vit(config.arch, pretrained=bool(pretrained), **kwargs)


class ViT(nn.Module):
    """A timm ViT classifier. ``forward`` returns the CLS head's logits (fused attention, no capture)."""

    kind = "vit"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config)

    @property
    def grid(self) -> tuple[int, int]:
        """The patch grid (rows, columns)."""
        from .lookup import seam_of

        return seam_of(self.backbone).grid

    @property
    def num_prefix_tokens(self) -> int:
        return self.backbone.num_prefix_tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward_all(self, x: torch.Tensor, attention: bool = True) -> ModelOutput:
        """Logits plus, when ``attention``, every block's attention probabilities."""
        if not attention:
            return ModelOutput(self.backbone(x), None, [], None)
        with capture_attention(self.backbone) as attn:
            logits = self.backbone(x)
        return ModelOutput(logits, None, list(attn), None)
