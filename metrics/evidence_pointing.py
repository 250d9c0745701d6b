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

import numpy as np
import torch

from iabench.contract import Context, Needs
from iabench.metrics._base import METRICS, MetricResult
from iabench.metrics._evidence import EvidenceScore


@METRICS.register
class EvidencePointing(EvidenceScore):
    __doc__ = __doc__
    name = "evidence-pointing"
    display_name = "Evidence pointing game"
    direction = "higher"
    description = "1 when the pixel (or patch) of largest |s| holds ground-truth evidence"
    family = "localisation"
    reference = "Zhang et al. 2018, Top-down Neural Attention by Excitation Backprop, IJCV"
    needs = Needs(saliency=True, masks=True)

    @torch.no_grad()
    def score(self, ctx: Context) -> MetricResult:
        magnitude, share = self.evidence(ctx)
        top = magnitude == magnitude.amax(1, keepdim=True)  # every unit of the largest |s|, as Quantus
        scores = (top & (share > 0)).any(1).double().numpy()
        constant = (magnitude.amax(1) == magnitude.amin(1)).numpy()
        if constant.any():
            scores[constant] = math.nan
            warnings.warn(f"{self.name}: constant map for sample(s) {np.flatnonzero(constant).tolist()}; their score "
                          "is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(scores)
