"""The ViT forward computed from a seam's parts, with the attention probabilities materialised.

Libraries compute attention fused (timm's and torchvision's scaled-dot-product attention, Hugging Face's sdpa) and
torchvision never returns the probabilities (``need_weights=False``), so the methods that read or re-rule attention
run this forward instead: the family's own modules (norms, linear layers, activation, heads), called in the order
the family calls them, and the attention written out as softmax(q kᵀ · scale) v. Its logits equal the model's
(tested per family, 1e-5). Explainers change single steps without touching the user's model: ``wrap`` replaces a
module by role (e.g. LayerNorm with its std detached for CP-LRP), and a subclass overrides ``matmul`` (AttnLRP's
uniform rule) or ``attend`` (how the probabilities are made and recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .lookup import seam_of
from .seam import BlockParts, Seam

# what a ``wrap`` function is told about each module it may replace
ROLES = ("conv", "norm", "linear", "act", "scale", "probabilities")
Wrap = Callable[[nn.Module, str], nn.Module]


def _same(module: nn.Module, role: str) -> nn.Module:
    return module


class SeamBlock(nn.Module):
    """One block of ``SeamForward``: the family's modules (possibly wrapped), the attention written out."""

    def __init__(self, parts: BlockParts, wrap: Wrap) -> None:
        super().__init__()
        optional = {"q_norm": "norm", "k_norm": "norm", "context_norm": "norm", "hidden_norm": "norm",
                    "ls1": "scale", "ls2": "scale"}
        self.pre_attention = wrap(parts.pre_attention, "norm")
        self.to_qkv = nn.ModuleList(wrap(linear, "linear") for linear in parts.to_qkv)
        self.probabilities = wrap(parts.probabilities, "probabilities")
        self.to_out = wrap(parts.to_out, "linear")
        self.pre_mlp = wrap(parts.pre_mlp, "norm")
        self.fc1, self.act, self.fc2 = wrap(parts.fc1, "linear"), wrap(parts.act, "act"), wrap(parts.fc2, "linear")
        for name, role in optional.items():  # an identity is not called: every family computes the same steps
            module = getattr(parts, name)
            setattr(self, name, None if module is None or isinstance(module, nn.Identity) else wrap(module, role))
        self.num_heads, self.head_dim, self.scale = parts.num_heads, parts.head_dim, parts.scale

    def project_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v (B, heads, T, head width) of the block's normalised input ``x`` (B, T, D)."""
        batch, tokens, _ = x.shape
        stacked = torch.cat([linear(x) for linear in self.to_qkv], dim=-1) if len(self.to_qkv) > 1 \
            else self.to_qkv[0](x)
        q, k, v = stacked.reshape(batch, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        return q, k, v

    def attend(self, x: torch.Tensor, engine: SeamForward) -> torch.Tensor:
        """The attention branch on the block's input ``x``, before its residual sum."""
        batch, tokens, _ = x.shape
        q, k, v = self.project_qkv(self.pre_attention(x))
        probs = engine.attend(engine.matmul(q * self.scale, k.transpose(-2, -1)), self)
        context = engine.matmul(probs, v).transpose(1, 2).reshape(batch, tokens, -1)
        if self.context_norm is not None:
            context = self.context_norm(context)
        out = self.to_out(context)
        return out if self.ls1 is None else self.ls1(out)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.act(self.fc1(self.pre_mlp(x)))
        if self.hidden_norm is not None:
            hidden = self.hidden_norm(hidden)
        out = self.fc2(hidden)
        return out if self.ls2 is None else self.ls2(out)

    def forward(self, x: torch.Tensor, engine: SeamForward) -> torch.Tensor:
        x = x + self.attend(x, engine)
        return x + self.mlp(x)


class SeamForward(nn.Module):
    """Images -> logits through the seam's parts. ``captured`` (a list, when not None) receives each block's
    attention probabilities (B, heads, T, T), graph attached, in forward order."""

    def __init__(self, seam: Seam | nn.Module, wrap: Wrap | None = None) -> None:
        super().__init__()
        seam = seam if isinstance(seam, Seam) else seam_of(seam)
        wrap = wrap or _same
        self.seam = seam  # not a module: its parts are registered below, each once
        self.patch_proj = wrap(seam.patch_proj, "conv")
        self.pre_norm = None if seam.pre_norm is None else wrap(seam.pre_norm, "norm")
        self.steps = nn.ModuleList(SeamBlock(parts, wrap) for parts in seam.layers)
        self.final_norm = wrap(seam.final_norm, "norm")
        self.heads = nn.ModuleList(wrap(head, "linear") for _, head in seam.readout)
        self.head_tokens = [index for index, _ in seam.readout]
        self.captured: list[torch.Tensor] | None = None

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b

    def attend(self, scores: torch.Tensor, step: SeamBlock) -> torch.Tensor:
        """Attention probabilities from the scaled scores, through the block's ``probabilities`` module."""
        probs = step.probabilities(scores.softmax(dim=-1))
        if self.captured is not None:
            self.captured.append(probs)
        return probs

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """The tokens the first block reads (B, T, D)."""
        tokens = self.seam.place_tokens(self.patch_proj(images).flatten(2).transpose(1, 2))
        return tokens if self.pre_norm is None else self.pre_norm(tokens)

    def read_out(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits from the last block's tokens: the final norm, then the head(s) on their token(s), averaged."""
        normed = self.final_norm(tokens)
        outputs = [head(normed[:, index]) for index, head in zip(self.head_tokens, self.heads)]
        return outputs[0] if len(outputs) == 1 else sum(outputs) / len(outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.captured is not None:
            self.captured.clear()
        tokens = self.tokens(images)
        for step in self.steps:
            tokens = step(tokens, self)
        return self.read_out(tokens)

    @contextmanager
    def capturing(self) -> Iterator[list[torch.Tensor]]:
        """Yield the list each forward inside the block fills with the blocks' attention probabilities."""
        self.captured = []
        try:
            yield self.captured
        finally:
            self.captured = None
