"""Evidence ROC AUC: how well |s| ranks the ground-truth evidence above the rest, per pixel or per patch.

Per pixel it is the ROC AUC of |s(x)| as a detector of the mask's pixels, which is Quantus ``AUC(abs=True)`` (tested
equal). Per patch of the model's grid (``unit: patch``, short form ``NAME[patch]``) each patch's sum of |s| is the
score and its share m of evidence pixels a soft label: the patch counts as a positive with weight m and as a
negative with weight 1 - m (``sklearn.metrics.roc_auc_score`` with sample weights), so a patch map is judged at its
own resolution, which Quantus does not do. 0.5 = chance, 1 = every evidence unit above every other. |s| throughout,
as the evidence mass (``foreground-mass``): a signed map's strong negative relevance on the evidence still shows
that the model reads it. A map constant over the units, or an image whose mask is empty or whole, scores NaN with a
warning.

Reference: Fawcett 2006, An introduction to ROC analysis, Pattern Recognition Letters; on planted evidence after
Arras et al. 2022, CLEVR-XAI, Information Fusion 81.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from iabench.contract import Context, Needs
from iabench.metrics._base import METRICS, MetricResult
from iabench.metrics._evidence import EvidenceScore


def soft_auc(scores: np.ndarray, share: np.ndarray) -> float:
    """ROC AUC of ``scores`` with each unit a positive of weight ``share`` and a negative of weight 1 - ``share``."""
    labels = np.r_[np.ones_like(share), np.zeros_like(share)]
    return float(roc_auc_score(labels, np.r_[scores, scores], sample_weight=np.r_[share, 1.0 - share]))


@METRICS.register
class EvidenceAuc(EvidenceScore):
    __doc__ = __doc__
    name = "evidence-auc"
    display_name = "Evidence ROC AUC"
    direction = "higher"
    description = ("ROC AUC of |s| as a detector of the ground-truth evidence, per pixel or per patch (a patch's "
                   "share of evidence as a soft label); 0.5 = chance")
    family = "localisation"
    reference = "Fawcett 2006, Pattern Recognition Letters; Arras et al. 2022, CLEVR-XAI, Information Fusion"
    needs = Needs(saliency=True, masks=True)

    @torch.no_grad()
    def score(self, ctx: Context) -> MetricResult:
        magnitude, share = self.evidence(ctx)
        scores, bad = [], []
        for i, (values, weights) in enumerate(zip(magnitude.numpy(), share.numpy())):
            undefined = values.max() == values.min() or weights.max() == 0 or weights.min() == 1
            scores.append(math.nan if undefined else soft_auc(values, weights))
            bad += [i] if undefined else []
        if bad:
            warnings.warn(f"{self.name}: a constant map or an empty or whole mask for sample(s) {bad}; their score "
                          "is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(np.asarray(scores, dtype=float))
