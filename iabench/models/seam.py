"""The model seam: everything an explainer or a metric may ask of a ViT, whatever library made it.

Explainers and metrics never reach into a model's modules by name. They ask ``seam_of(model)`` for the patch
grid, the prefix tokens, each block's parts (norms, q/k/v, output projection, MLP), the last norm and the
read-out, and run ``SeamForward`` (``forward.py``) over those parts when they need the attention probabilities
(captured, detached or re-ruled). Gradient and perturbation methods call ``seam.classifier``, the model's own
forward returning logits. One file per family in ``families/`` reads a library's model into these parts: the
pytorch-grad-cam idea (the caller names the layers and the reshape), done once per family instead of per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UserError


class UnsupportedModel(UserError, TypeError):
    """A model no family serves: one line naming the families (exit 2 on the command line; a TypeError in Python)."""


@dataclass(frozen=True)
class BlockParts:
    """One pre-norm block, read as ``x + ls1(to_out(attention(pre_attention(x))))`` then
    ``+ ls2(fc2(hidden_norm(act(fc1(pre_mlp(.))))))``; the attention is softmax(q kᵀ · scale) v per head, q and k
    through ``q_norm``/``k_norm``, the heads' context through ``context_norm``. ``to_qkv`` holds one linear layer
    (q, k, v stacked in that order) or three. ``probabilities`` is the module the probabilities pass through (the
    family's attention dropout, or a fresh identity), so a forward hook there sees or replaces them.
    ``own_attention`` is the family's own attention on the normalised tokens (fused where the library fuses it),
    for a method that needs its output but not its probabilities."""

    pre_attention: nn.Module
    to_qkv: tuple[nn.Linear, ...]
    to_out: nn.Linear
    pre_mlp: nn.Module
    fc1: nn.Linear
    act: nn.Module
    fc2: nn.Linear
    num_heads: int
    probabilities: nn.Module
    q_norm: nn.Module | None = None
    k_norm: nn.Module | None = None
    context_norm: nn.Module | None = None
    hidden_norm: nn.Module | None = None
    ls1: nn.Module | None = None
    ls2: nn.Module | None = None
    own_attention: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def head_dim(self) -> int:
        return sum(lin.out_features for lin in self.to_qkv) // (3 * self.num_heads)

    @property
    def scale(self) -> float:
        return self.head_dim ** -0.5

    @property
    def qkv_weight(self) -> torch.Tensor:
        """(3 D, D): the q, k and v weights stacked (one tensor whatever the family stores)."""
        return torch.cat([lin.weight for lin in self.to_qkv])


class Seam:
    """What explainers and metrics may ask of a ViT. A family subclass fills the attributes in ``__init__``
    from its model and implements ``place_tokens`` (and ``logits_of`` when its forward returns an object)."""

    family: str = ""  # short name, e.g. "timm"
    library: str = ""  # the library's name as the report prints it, e.g. "Hugging Face transformers"
    forward_gives_logits = True  # the model's own forward returns the logits tensor (else ``logits_of`` reads them)
    kind = "vit"  # "feature-map": a CNN or Swin, read through its last feature map only (no tokens, no attention)

    def __init__(self, model: nn.Module) -> None:
        self.model = model  # the model as the user gave it
        self.grid: tuple[int, int] = (0, 0)
        self.patch_size: tuple[int, int] = (0, 0)
        self.num_prefix_tokens = 1  # class token first, then any distillation or register tokens
        self.patch_proj: nn.Module = nn.Identity()  # images -> (B, D, rows, cols)
        self.pre_norm: nn.Module | None = None  # on all tokens before the first block
        self.layers: tuple[BlockParts, ...] = ()
        self.final_norm: nn.Module = nn.Identity()
        # the read-out: (token index, linear head) pairs whose outputs are averaged (two for a distilled DeiT)
        self.readout: tuple[tuple[int, nn.Linear], ...] = ()
        # a feature-map model's last feature map (Grad-CAM's layer), (B, C, H, W), or (B, H, W, C) if channels_last
        self.feature_layer: nn.Module | None = None
        self.channels_last = False

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        """The model this family reads in ``model`` (itself, or e.g. the backbone it wraps), or None."""
        raise NotImplementedError

    def place_tokens(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, P, D) patch embeddings -> (B, T, D) tokens: prefix tokens joined, positions added."""
        raise NotImplementedError

    @staticmethod
    def logits_of(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        """The model's own forward's logits as a tensor (static: ``SeamClassifier`` builds no parts per forward)."""
        return model(images)

    def check_grey(self) -> None:
        """Refuse, in one line, a model whose first convolution a grey channel cannot be folded into exactly."""
        conv = self.patch_proj
        if not isinstance(conv, nn.Conv2d) or conv.in_channels != 3 or conv.groups != 1 or \
                conv.padding not in ((0, 0), "valid"):
            raise UnsupportedModel(f"the {type(self.model).__name__}'s first convolution pads its input or is not a "
                                   "plain 3-channel Conv2d, so grey images cannot be folded into it exactly: give it "
                                   "3-channel images")

    def take_grey(self, grey: tuple[float, float], own: tuple[list[float], list[float]]) -> None:
        """Make a 3-channel model read 1-channel images normalised by ``grey`` (mean, std) exactly as it would read
        the grey channel repeated and normalised by its ``own`` (means, stds): folded into the patch embedding,
        which is linear with no padding, so the fold is exact (``conv(repeat) = (sum of the channels' weights) * x
        + a constant per output channel``)."""
        self.check_grey()
        conv = self.patch_proj
        mean, std = (torch.tensor(v, dtype=conv.weight.dtype, device=conv.weight.device) for v in own)
        with torch.no_grad():
            weight = conv.weight * (grey[1] / std).view(1, 3, 1, 1)  # x_c = (s g + m - mean_c) / std_c
            offset = (conv.weight.sum((2, 3)) * ((grey[0] - mean) / std)).sum(1)
            bias = offset if conv.bias is None else conv.bias + offset
        conv.weight = nn.Parameter(weight.sum(1, keepdim=True))
        conv.bias = nn.Parameter(bias)
        conv.in_channels = 1

    @property
    def described(self) -> str:
        """The library and the model's class, e.g. 'Hugging Face transformers ViTForImageClassification'."""
        return f"{self.library} {type(self.model).__name__}"

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def width(self) -> int:
        return self.layers[0].to_out.out_features

    @property
    def num_heads(self) -> int:
        return self.layers[0].num_heads

    @property
    def classifier(self) -> nn.Module:
        """A module whose forward returns the logits tensor (Captum's contract): the model itself when its own
        forward does, else a wrapper."""
        return self.model if self.forward_gives_logits else SeamClassifier(self)

    def grid_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The grid of patch-level maps for images of ``size``: a ViT's own (fixed by its position table)."""
        return self.grid

    def to_grid(self, patch_scores: torch.Tensor) -> torch.Tensor:
        """(B, P) patch scores -> (B, rows, cols)."""
        return patch_scores.reshape(-1, *self.grid)


class SeamClassifier(nn.Module):
    """A model of any family as a classifier whose forward returns logits; its seam is the wrapped model's."""

    def __init__(self, seam: Seam) -> None:
        super().__init__()
        self.wrapped = seam.model
        self.family_seam = type(seam)  # the class, not a seam: one is built afresh when asked for, never stale

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.family_seam.logits_of(self.wrapped, images)
