"""Stage 4, score: every metric of a work item on every chunk of samples, appended to the results store.

A chunk whose scores are all stored already is skipped (a resumed run continues where it stopped); a
non-finite saliency map is recorded as a failure and scores NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..targets import explained_targets
from .explain import Explanations
from .plan import Samples, WorkItem, applies, scores_maps_of
from .precision import scoring
from .shards import Shard


@dataclass
class Subject:
    """A model under evaluation: the module, its kind ("vit" / "ia-vit") and a key naming its weights."""

    model: nn.Module
    kind: str
    key: str


class Scorer:
    """Scores work items chunk by chunk into ``store`` (a ResultStore: ``missing`` and ``add``)."""

    def __init__(self, metrics: dict[str, Any], explanations: Explanations, store: Any, samples: Samples,
                 device: torch.device, target: str, batch_size: int, shard: Shard | None = None) -> None:
        self.metrics, self.explanations, self.store = metrics, explanations, store
        self.samples, self.device, self.target = samples, device, target
        self.chunks = (shard or Shard()).take(samples.chunks(batch_size))  # this shard's chunks of the one-process run

    def __call__(self, item: WorkItem, subject: Subject) -> None:
        applicable = {k: m for k, m in self.metrics.items() if applies(m, subject.kind)}
        wanted = {k: m for k, m in applicable.items() if m.needs_saliency == (item.explainer is not None)
                  and (item.explainer is None or scores_maps_of(m, self.explanations.classes[item.explainer]))}
        for start, stop in self.chunks:
            idx = self.samples.indices[start:stop]
            todo = {k: m for k, m in wanted.items()
                    if self.store.missing((item.seed, item.model, item.explainer or "-", k, s) for s in idx)}
            if not todo:
                continue
            images = self.samples.images[start:stop].to(self.device)
            labels = self.samples.labels[start:stop].to(self.device)
            if item.explainer is None:
                for label, metric in todo.items():
                    with scoring(self.device, metric):
                        self._add(item, label, idx, metric(subject.model, images, labels))
            else:
                masks = self.samples.masks[start:stop].to(self.device) if self.samples.masks is not None else None
                self._explained(item, subject, todo, idx, images, labels, masks)

    def _explained(self, item: WorkItem, subject: Subject, todo: dict[str, Any], idx: list[int],
                   images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor | None) -> None:
        explain = self.explanations
        targets = explained_targets(subject.model, images, labels, self.target)
        saliency = explain(subject.model, subject.key, item.explainer, images, targets, idx, item.seed, item.model)
        finite = torch.isfinite(saliency.flatten(1)).all(1)
        if not finite.all():
            bad = [s for s, ok in zip(idx, finite.tolist()) if not ok]
            explain.failures.record(item.seed, item.model, item.explainer, bad, "saliency is not finite (NaN or inf)")
        keep = finite.nonzero().flatten()
        for label, metric in todo.items():
            values, curves, curve_x, extras = np.full(len(idx), np.nan), None, None, {}
            if len(keep):
                extra = {}
                reference = explain.reference_label(metric, subject.kind)
                if reference is not None:  # the reference explainer's map of this chunk, from the cache
                    other = saliency if reference == item.explainer else explain(
                        subject.model, subject.key, reference, images, targets, idx, item.seed, item.model)
                    extra["reference_map"] = other[keep]
                with scoring(self.device, metric):
                    result = metric(subject.model, images[keep], targets[keep], saliency[keep],
                                    masks=masks[keep] if masks is not None else None,
                                    explain_fn=explain.explain_fn(item.explainer) if metric.needs_explain_fn else None,
                                    **extra)
                values[keep.cpu().numpy()] = np.asarray(result.scores, dtype=float)
                for suffix, extra_values in (result.extra or {}).items():
                    extras[f"{label}-{suffix}"] = np.full(len(idx), np.nan)
                    extras[f"{label}-{suffix}"][keep.cpu().numpy()] = np.asarray(extra_values, dtype=float)
                if result.curves is not None:
                    curve_x = result.curve_x
                    curves = np.full((len(idx), len(curve_x)), np.nan)
                    curves[keep.cpu().numpy()] = result.curves
            self.store.add(item.seed, item.model, item.explainer, label, idx, values, curve_x, curves)
            for name, extra_values in extras.items():
                self.store.add(item.seed, item.model, item.explainer, name, idx, extra_values)

    def _add(self, item: WorkItem, metric: str, idx: list[int], result: Any) -> None:
        self.store.add(item.seed, item.model, "-", metric, idx, np.asarray(result.scores, dtype=float),
                       result.curve_x, result.curves)
        for extra, values in (result.extra or {}).items():
            self.store.add(item.seed, item.model, "-", f"{metric}-{extra}", idx, np.asarray(values, dtype=float))
