"""IA-ViT: feature extractor (ViT encoder), predictor (CLS head) and interpreter.

Reference: Y. Qiang, C. Li, P. Khanduri, D. Zhu, *Interpretability-Aware Vision Transformer*,
arXiv 2309.08035 (2023), Sec. 3 and the official code (see ../shared/ia-vit-reference.md).
The interpreter is a single-head self-attention over the encoder's (normalised) patch tokens,
followed by a per-token linear read-out D->1 and a linear map (patches)->classes. Its attention,
averaged over query rows, is the explanation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .families._timm_capture import capture_attention
from .lookup import seam_of
from .vit import ModelOutput, ViT


class Interpreter(nn.Module):
    """Single-head self-attention over patch tokens whose linear read-out imitates the predictor."""

    def __init__(self, dim: int, num_patches: int, num_classes: int, scale: bool = False) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        # The official code uses softmax(q k^T) with no 1/sqrt(D) factor; `scale` restores it.
        self.scale = 1.0 / math.sqrt(dim) if scale else 1.0
        self.fc1 = nn.Linear(dim, 1)
        self.fc2 = nn.Linear(num_patches, num_classes)
        for fc in (self.fc1, self.fc2):  # as the official code: Xavier-uniform weights, N(0, 1e-6) biases
            nn.init.xavier_uniform_(fc.weight)
            nn.init.normal_(fc.bias, std=1e-6)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """patches (B, P, D) -> (logits (B, classes), attention (B, P, P))."""
        q, k, v = self.query(patches), self.key(patches), self.value(patches)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        context = attn @ v
        logits = self.fc2(self.fc1(context).squeeze(-1))
        return logits, attn


class IAViT(ViT):
    """IA-ViT. ``forward`` returns the predictor's logits, so IA-ViT is a drop-in classifier for
    every explainer and metric; ``forward_all`` returns the interpreter's outputs as well."""

    kind = "ia-vit"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        num_patches = seam_of(self.backbone).num_patches
        self.interpreter = Interpreter(self.backbone.embed_dim, num_patches, config.num_classes,
                                       scale=config.interpreter_scale)

    def forward_all(self, x: torch.Tensor, attention: bool = True) -> ModelOutput:
        """Predictor and interpreter logits, the interpreter attention and, when ``attention``, every
        encoder block's attention probabilities (needed by the alignment loss)."""
        if attention:
            with capture_attention(self.backbone) as captured:
                tokens = self.backbone.forward_features(x)
            encoder_attn = list(captured)
        else:
            tokens = self.backbone.forward_features(x)
            encoder_attn = []
        logits = self.backbone.forward_head(tokens)
        inter_logits, inter_attn = self.interpreter(tokens[:, self.num_prefix_tokens:])
        return ModelOutput(logits, inter_logits, encoder_attn, inter_attn)

    def explain(self, x: torch.Tensor) -> torch.Tensor:
        """The paper's explanation: interpreter attention averaged over query rows, (B, P)."""
        return self.forward_all(x, attention=False).inter_attn.mean(dim=1)
