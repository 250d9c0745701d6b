"""Evidence pointing game: 1 when the unit of largest |s| holds ground-truth evidence, per pixel or per patch.

Per pixel it is Quantus ``PointingGame(abs=True)`` (tested equal): a pixel of largest |s| (any of them, on ties)
lies in the mask. Per patch of the model's grid (``unit: patch``, short form ``NAME[patch]``) a patch of largest
summed |s| holds at least one evidence pixel, so that a patch map is judged at its own resolution. |s| throughout,
as the evidence mass (``foreground-mass``). A constant map points nowhere: NaN, with a warning.

Reference: Zhang et al. 2018, Top-down Neural Attention by Excitation Backprop, IJCV.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from iabench.contract import Context, Needs, Options, option
from iabench.metrics._base import METRICS, Metric, MetricResult
from iabench.metrics._checks import check_map, evidence_grid


@dataclass(frozen=True)
class EvidencePointingOptions(Options):
    unit: Literal["pixel", "patch"] = option("pixel", "point at a pixel, or at a patch of the model's grid")
    mask: str = option("", "the dataset's mask to score against, by name (e.g. motif); '' = its evidence mask")


@METRICS.register
class EvidencePointing(Metric):
    __doc__ = __doc__
    name = "evidence-pointing"
    display_name = "Evidence pointing game"
    direction = "higher"
    description = "1 when the pixel (or patch) of largest |s| holds ground-truth evidence"
    family = "localisation"
    reference = "Zhang et al. 2018, Top-down Neural Attention by Excitation Backprop, IJCV"
    needs = Needs(saliency=True, masks=True)
    Options = EvidencePointingOptions

    def protocol(self) -> dict[str, Any]:
        """The unit scored (pixel or patch), recorded as a curve metric's unit is, and the mask scored against."""
        return {**super().protocol(), "unit": self.options.unit, "mask": self.options.mask or None}

    def title(self) -> str:
        title = f"{self.display_name} (per patch)" if self.options.unit == "patch" else self.display_name
        return f"{title} on {self.options.mask}" if self.options.mask else title

    @torch.no_grad()
    def score(self, ctx: Context) -> MetricResult:
        check_map(ctx.images, ctx.saliency, self.name)
        if ctx.masks is None:
            raise ValueError(f"{self.name} needs ground-truth masks")
        magnitude, share = evidence_grid(ctx.saliency.detach().abs().cpu(), ctx.masks.detach().bool().cpu(),
                                         ctx.model, self.options.unit)
        top = magnitude == magnitude.amax(1, keepdim=True)  # every unit of the largest |s|, as Quantus
        scores = (top & (share > 0)).any(1).double().numpy()
        constant = (magnitude.amax(1) == magnitude.amin(1)).numpy()
        if constant.any():
            scores[constant] = math.nan
            warnings.warn(f"{self.name}: constant map for sample(s) {np.flatnonzero(constant).tolist()}; their score "
                          "is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(scores)
