"""Attention rollout (Abnar & Zuidema 2020, ACL, Sec. 3, Eq. 1).

Per block, the heads are fused (mean, max or min), optionally the lowest ``discard_ratio`` of the fused
weights are zeroed (the CLS -> CLS entry is kept; Gildenblat's variant), the residual is added as the
identity, A' = 0.5 (A + I), rows are re-normalised to sum to 1, and the blocks are multiplied:
R = A'_L ... A'_1. The explanation is R's CLS row over the patch tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import attention_maps, explaining, prefix_of, to_grid
from iabench.contract import Needs, Options, option

FUSIONS = {"mean": torch.mean, "max": torch.amax, "min": torch.amin}


def rollout(attentions: list[torch.Tensor], head_fusion: str = "mean", discard_ratio: float = 0.0) -> torch.Tensor:
    """(B, heads, T, T) per block -> (B, T, T) rolled-out attention."""
    if head_fusion not in FUSIONS:
        raise ValueError(f"head_fusion must be one of {', '.join(FUSIONS)}, got '{head_fusion}'")
    result = None
    for attn in attentions:
        fused = FUSIONS[head_fusion](attn, dim=1)
        if discard_ratio > 0:
            flat = fused.flatten(1).clone()
            k = int(flat.shape[1] * discard_ratio)
            if k:
                lowest = flat.topk(k, dim=1, largest=False).indices
                keep_cls = lowest != 0  # never discard CLS -> CLS
                flat.scatter_(1, lowest, torch.where(keep_cls, torch.zeros_like(lowest, dtype=flat.dtype),
                                                     flat.gather(1, lowest)))
            fused = flat.view_as(fused)
        eye = torch.eye(fused.shape[-1], device=fused.device, dtype=fused.dtype)
        step = 0.5 * (fused + eye)
        step = step / step.sum(dim=-1, keepdim=True)
        result = step if result is None else step @ result
    if result is None:
        raise ValueError("no attention maps given")
    return result


@dataclass(frozen=True)
class RolloutOptions(Options):
    head_fusion: Literal["mean", "max", "min"] = option("mean", "how each block's heads are fused")
    discard_ratio: float = option(0.0, "share of each fused map's lowest values set to 0 (never CLS -> CLS)",
                                  (0, 1, True, False))


@EXPLAINERS.register
class AttentionRollout(Explainer):
    name = "rollout"
    display_name = "Attention rollout"
    family = "attention"
    reference = "Abnar & Zuidema 2020, Quantifying Attention Flow in Transformers, ACL, Eq. 1"
    description = ("attention rollout: per block 0.5 (A + I), rows renormalised, multiplied over the blocks; "
                   "`head_fusion` mean/max/min, `discard_ratio`")
    signed = False
    cost = "1 forward"
    resolution = "patch"
    Options = RolloutOptions
    needs = Needs(vit=True)  # the map ignores the target

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fusion, discard = self.options.head_fusion, self.options.discard_ratio
        with explaining(self.model):
            rolled = rollout(attention_maps(self.model, inputs), fusion, discard)
        return to_grid(rolled[:, 0, prefix_of(self.model):], self.model)
