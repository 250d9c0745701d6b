"""What the ground-truth scores share (``foreground-mass``, ``evidence-auc``, ``evidence-pointing``), so that no
metric imports another: the ``unit`` and ``mask`` options, their record and title, and the map and mask read per
pixel or per patch of the model's grid (``_checks.evidence_grid``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from iabench.contract import Context, Options, option
from iabench.metrics._base import Metric
from iabench.metrics._checks import check_map, evidence_grid


@dataclass(frozen=True)
class EvidenceScoreOptions(Options):
    unit: Literal["pixel", "patch"] = option("pixel", "score per pixel, or per patch of the model's grid (|s| "
                                             "summed per patch, the evidence as each patch's share of it)")
    mask: str = option("", "the dataset's mask to score against, by name (e.g. motif); '' = its evidence mask")


class EvidenceScore(Metric):
    """A score of |s| against a ground-truth mask, per pixel or per patch (``EvidenceScoreOptions``)."""

    Options = EvidenceScoreOptions

    def protocol(self) -> dict[str, Any]:
        """The unit scored (pixel or patch), recorded as a curve metric's unit is, and the mask scored against."""
        return {**super().protocol(), "unit": self.options.unit, "mask": self.options.mask or None}

    def title(self) -> str:
        title = f"{self.display_name} (per patch)" if self.options.unit == "patch" else self.display_name
        return f"{title} on {self.options.mask}" if self.options.mask else title

    def evidence(self, ctx: Context, masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(|s|, the evidence) per unit, (B, N) float64, after the map's checks; ``masks`` default: the context's
        (required)."""
        check_map(ctx.images, ctx.saliency, self.name)
        masks = ctx.masks if masks is None else masks
        if masks is None:
            raise ValueError(f"{self.name} needs ground-truth masks")
        if masks.shape != ctx.saliency.shape:
            raise ValueError(f"{self.name}: masks must be (B, H, W) = {tuple(ctx.saliency.shape)}, "
                             f"got {tuple(masks.shape)}")
        return evidence_grid(ctx.saliency.detach().double().abs().cpu(), masks.detach().bool().cpu(), ctx.model,
                             self.options.unit)
