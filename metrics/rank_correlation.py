"""Rank correlation with a reference explainer: does the map order the pixels like, e.g., occlusion does?

Definition: per image, Spearman's rank correlation rho(s, r) = Pearson(rank(s), rank(r)) (ties get average
ranks, ``scipy.stats.spearmanr``) between the map s and the map r of a reference explainer (option
``reference``, default 'occlusion', built with ``reference_options``, default {}), both flattened over
pixels (option ``level='pixel'``, default) or over the model's patches (``level='patch'``: each patch's sum
of the signed map, as in ``entropy``). The score lies in [-1, 1]; higher is better. A constant map (or
reference map) has no ordering: its sample scores NaN, with a RuntimeWarning naming the samples.

When the suite explains with the reference explainer itself (same name and options), the runner passes
its map (``Context.reference_map``, from its explanation cache), so occlusion is computed once per model and images.
Otherwise the reference map is computed by the reference explainer the context hands over (``Context.reference``:
this module never imports the explainers) once per (model, images, targets) and memoised in the metric
instance (up to 16 batches, oldest dropped first), because the runner scores several explainers on the same
model and images and occlusion costs about one forward per patch. The memo assumes the model's weights do
not change between calls on the same batch.

Reference: Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS (Spearman rank correlation between
saliency maps); the reference explainer plays the role of their original map.
"""

from __future__ import annotations

import hashlib
import math
import warnings
import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from iabench.contract import Context, Options, option
from iabench.metrics._base import METRICS, Metric, MetricResult
from iabench.metrics._checks import check_map, patch_sums
from iabench.models import patch_size_of

MEMO_SIZE = 16


@dataclass(frozen=True)
class RankCorrelationOptions(Options):
    reference: str = option("occlusion", "the reference explainer (checked when the suite is read)")
    reference_options: dict = option(doc="its options", factory=dict)
    level: Literal["pixel", "patch"] = option("pixel", "rank pixels, or the model's patches (signed sums)")


@METRICS.register
class RankCorrelation(Metric):
    __doc__ = __doc__
    name = "rank-correlation"
    display_name = "Rank correlation with occlusion"
    direction = "higher"
    description = ("Spearman correlation of the map with a reference explainer's (`reference`, default `occlusion`; "
                   "computed once per batch)")
    family = "diagnostics"
    reference = "Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS (Spearman rank correlation)"

    Options = RankCorrelationOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._memo: dict[tuple[int, str], tuple[weakref.ref[nn.Module], torch.Tensor]] = {}

    def title(self) -> str:
        return f"Rank correlation with {self.options.reference}"

    def reference_map(self, ctx: Context) -> torch.Tensor:
        """The reference explainer's (B, H, W) map, from the memo when this batch was seen with this model."""
        if ctx.reference is None:
            raise ValueError(f"{self.name} needs its reference explainer ({self.options.reference}): pass "
                             "reference= (e.g. iabench.baselines.BoundExplainer) or its maps as reference_map=")
        model, images, targets = ctx.model, ctx.images, ctx.targets
        digest = hashlib.sha256(str((tuple(images.shape), images.dtype)).encode())
        digest.update(images.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        digest.update(targets.detach().cpu().long().contiguous().numpy().tobytes())
        key = (id(model), digest.hexdigest())
        held = self._memo.get(key)
        if held is not None and held[0]() is model:  # the weakref guards against a freed model's reused id
            return held[1]
        result = ctx.reference.explain(model, images, targets).detach().cpu()
        self._memo.pop(key, None)
        while len(self._memo) >= MEMO_SIZE:  # FIFO: dicts keep insertion order
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = (weakref.ref(model), result)
        return result

    @property
    def reference_spec(self) -> tuple[str, dict]:
        """(explainer name, options) of the reference: the runner hands over its own map of that explainer."""
        return self.options.reference, dict(self.options.reference_options)

    def score(self, ctx: Context) -> MetricResult:
        model, images, saliency = ctx.model, ctx.images, ctx.saliency
        check_map(images, saliency, self.name)
        reference_map = ctx.reference_map if ctx.reference_map is not None else self.reference_map(ctx)
        check_map(images, reference_map, f"{self.name} (reference map)")
        maps = [saliency.detach().double().cpu(), reference_map.detach().double().cpu()]
        # signed sums per patch: a map and its negation must stay opposite orderings
        by_patch = self.options.level == "patch"
        flat = [(patch_sums(m, patch_size_of(model)) if by_patch else m.flatten(1)).numpy() for m in maps]
        constant = [np.ptp(f, axis=1) == 0 for f in flat]
        scores = np.array([math.nan if constant[0][i] or constant[1][i] else float(spearmanr(a, b)[0])
                           for i, (a, b) in enumerate(zip(*flat))])
        for which, mask in zip(("saliency", f"{self.options.reference} reference map"), constant):
            if mask.any():
                warnings.warn(f"{self.name}: the {which} of sample(s) {np.flatnonzero(mask).tolist()} is constant "
                              "(no ordering); their score is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(scores.astype(np.float64))
