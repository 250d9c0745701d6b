"""Rank correlation with a reference explainer: does the map order the pixels like, e.g., occlusion does?

Definition: per image, Spearman's rank correlation rho(s, r) = Pearson(rank(s), rank(r)) (ties get average
ranks, ``scipy.stats.spearmanr``) between the map s and the map r of a reference explainer (option
``reference``, default 'occlusion', built with ``reference_options``, default {}), both flattened over
pixels (option ``level='pixel'``, default) or over the model's patches (``level='patch'``: each patch's sum
of the signed map, as in ``entropy``). The score lies in [-1, 1]; higher is better. A constant map (or
reference map) has no ordering: its sample scores NaN, with a RuntimeWarning naming the samples.

When the suite explains with the reference explainer itself (same name and options), the runner passes
its map (``reference_map=``, from its explanation cache), so occlusion is computed once per model and images.
Otherwise the reference map is computed once per (model, images, targets) and memoised in the metric
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

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.metrics import METRICS, Metric, MetricResult
from iabench.metrics._perturbation import MetricOptionError
from iabench.metrics.entropy import check_map, check_options, model_patch, patch_sums

MEMO_SIZE = 16


@METRICS.register("rank-correlation")
class RankCorrelation(Metric):
    __doc__ = __doc__
    name = "rank-correlation"
    display_name = "Rank correlation with occlusion"
    direction = "higher"
    description = ("Spearman correlation of the map with a reference explainer's (`reference`, default `occlusion`; "
                   "computed once per batch)")
    family = "diagnostics"
    reference = "Adebayo et al. 2018, Sanity Checks for Saliency Maps, NeurIPS (Spearman rank correlation)"

    def __init__(self, **options: object) -> None:
        check_options(self.name, options, ("reference", "reference_options", "level"))
        explainer, explainer_options = options.get("reference", "occlusion"), options.get("reference_options", {})
        if not isinstance(explainer, str):
            raise MetricOptionError(f"metric {self.name}: option reference must be an explainer name, "
                                    f"got {explainer!r}")
        EXPLAINERS.get(explainer)  # an unknown name: the registry's one-line UserError, now rather than later
        if not isinstance(explainer_options, dict):
            raise MetricOptionError(f"metric {self.name}: option reference_options must be a mapping of explainer "
                                    f"options, got {explainer_options!r}")
        EXPLAINERS.get(explainer).check_options(dict(explainer_options))  # a misspelt option: now, in one line
        super().__init__(**options)
        self.explainer, self.explainer_options = explainer, dict(explainer_options)
        self.level = str(options.get("level", "pixel"))
        self.display_name = f"Rank correlation with {explainer}"  # type: ignore[misc]
        self._memo: dict[tuple[int, str], tuple[weakref.ref[nn.Module], torch.Tensor]] = {}

    def reference_map(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The reference explainer's (B, H, W) map, from the memo when this batch was seen with this model."""
        digest = hashlib.sha256(str((tuple(images.shape), images.dtype)).encode())
        digest.update(images.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        digest.update(targets.detach().cpu().long().contiguous().numpy().tobytes())
        key = (id(model), digest.hexdigest())
        held = self._memo.get(key)
        if held is not None and held[0]() is model:  # the weakref guards against a freed model's reused id
            return held[1]
        result = create_explainer(self.explainer, model, **self.explainer_options).attribute(images, targets)
        result = result.detach().cpu()
        self._memo.pop(key, None)
        while len(self._memo) >= MEMO_SIZE:  # FIFO: dicts keep insertion order
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = (weakref.ref(model), result)
        return result

    @property
    def reference_spec(self) -> tuple[str, dict]:
        """(explainer name, options) of the reference: the runner hands over its own map of that explainer."""
        return self.explainer, self.explainer_options

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, reference_map: torch.Tensor | None = None,
                 **_: object) -> MetricResult:
        check_map(images, saliency, self.name)
        if reference_map is None:
            reference_map = self.reference_map(model, images, targets)
        check_map(images, reference_map, f"{self.name} (reference map)")
        maps = [saliency.detach().double().cpu(), reference_map.detach().double().cpu()]
        # signed sums per patch: a map and its negation must stay opposite orderings
        flat = [(patch_sums(m, model_patch(model)) if self.level == "patch" else m.flatten(1)).numpy() for m in maps]
        constant = [np.ptp(f, axis=1) == 0 for f in flat]
        scores = np.array([math.nan if constant[0][i] or constant[1][i] else float(spearmanr(a, b)[0])
                           for i, (a, b) in enumerate(zip(*flat))])
        for which, mask in zip(("saliency", f"{self.explainer} reference map"), constant):
            if mask.any():
                warnings.warn(f"{self.name}: the {which} of sample(s) {np.flatnonzero(mask).tolist()} is constant "
                              "(no ordering); their score is NaN", RuntimeWarning, stacklevel=2)
        return MetricResult(scores.astype(np.float64))
