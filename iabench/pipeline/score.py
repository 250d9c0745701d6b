"""Stage 4, score: every metric of a work item on every chunk of samples, appended to the results store.

A chunk whose scores are all stored already is skipped (a resumed run continues where it stopped); a
non-finite saliency map is recorded as a failure and scores NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..suites import MethodSpec
from ..targets import explained_targets
from .explain import Explanations
from .plan import Samples, WorkItem, applies, scores_maps_of
from .precision import scoring
from .shards import Shard

if TYPE_CHECKING:  # importing the metrics (and Quantus) costs seconds: only where needed
    from ..metrics import MetricResult


@dataclass
class Subject:
    """A model under evaluation: the module, its kind ("vit" / "ia-vit") and a key naming its weights."""

    model: nn.Module
    kind: str
    key: str


class Scorer:
    """Scores work items chunk by chunk into ``store`` (a ResultStore: ``missing`` and ``add``)."""

    def __init__(self, metrics: dict[str, Any], explanations: Explanations, store: Any, samples: Samples,
                 device: torch.device, target: str, batch_size: int, shard: Shard | None = None,
                 specs: list[MethodSpec] | None = None) -> None:
        self.metrics, self.explanations, self.store = metrics, explanations, store
        # what each metric scores (MethodSpec.samples: the first N images; .explainers: those labels only)
        self.specs = {spec.label: spec for spec in specs or []}
        self.samples, self.device, self.target = samples, device, target
        self.chunks = (shard or Shard()).take(samples.chunks(batch_size))  # this shard's chunks of the one-process run

    def __call__(self, item: WorkItem, subject: Subject) -> None:
        applicable = {k: m for k, m in self.metrics.items() if applies(m, subject.kind)}
        wanted = {k: m for k, m in applicable.items() if m.needs_saliency == (item.explainer is not None)
                  and (item.explainer is None or scores_maps_of(m, self.explanations.classes[item.explainer]))
                  and (k not in self.specs or self.specs[k].scores(item.explainer))}
        for start, stop in self.chunks:
            idx = self.samples.indices[start:stop]
            todo = {k: m for k, m in wanted.items() if self.store.missing(
                (item.seed, item.model, item.explainer or "-", k, s) for s in idx[:self._count(k, start, stop)])}
            if not todo:
                continue
            images = self.samples.images[start:stop].to(self.device)
            labels = self.samples.labels[start:stop].to(self.device)
            if item.explainer is None:
                for label, metric in todo.items():
                    n = self._count(label, start, stop)
                    with scoring(self.device, metric):
                        self._add(item, label, idx[:n], metric(subject.model, images[:n], labels[:n]))
            else:
                masks = self.samples.masks[start:stop].to(self.device) if self.samples.masks is not None else None
                counts = {label: self._count(label, start, stop) for label in todo}
                self._explained(item, subject, todo, idx, images, labels, masks, counts)

    def _count(self, label: str, start: int, stop: int) -> int:
        """How many images of the chunk [start, stop) metric ``label`` scores: all, or up to its ``samples``."""
        limit = self.specs[label].samples if label in self.specs else None
        return stop - start if limit is None else max(0, min(stop, limit) - start)

    def _explained(self, item: WorkItem, subject: Subject, todo: dict[str, Any], idx: list[int],
                   images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor | None,
                   counts: dict[str, int]) -> None:
        explain = self.explanations
        targets = explained_targets(subject.model, images, labels, self.target)
        saliency = explain(subject.model, subject.key, item.explainer, images, targets, idx, item.seed, item.model)
        finite = torch.isfinite(saliency.flatten(1)).all(1)
        if not finite.all():
            bad = [s for s, ok in zip(idx, finite.tolist()) if not ok]
            explain.failures.record(item.seed, item.model, item.explainer, bad, "saliency is not finite (NaN or inf)")
        from ..metrics import MetricResult

        for label, metric in todo.items():
            n = counts[label]
            keep = finite[:n].nonzero().flatten()
            result = MetricResult(np.full(n, np.nan))
            if len(keep):
                extra = {}
                reference = explain.reference_label(metric, subject.kind)
                if reference is not None:  # the reference explainer's map of this chunk, from the cache
                    other = saliency if reference == item.explainer else explain(
                        subject.model, subject.key, reference, images, targets, idx, item.seed, item.model)
                    extra["reference_map"] = other[keep]
                with scoring(self.device, metric):
                    scored = metric(subject.model, images[keep], targets[keep], saliency[keep],
                                    masks=masks[keep] if masks is not None else None,
                                    explain_fn=explain.explain_fn(item.explainer) if metric.needs_explain_fn else None,
                                    **extra)
                result = _spread(scored, keep.cpu().numpy(), n)
            self._add(item, label, idx[:n], result, item.explainer)

    def _add(self, item: WorkItem, metric: str, idx: list[int], result: Any, explainer: str = "-") -> None:
        """Store a metric's per-sample scores (and curves), and each extra value as metric '<metric>-<suffix>'."""
        self.store.add(item.seed, item.model, explainer, metric, idx, np.asarray(result.scores, dtype=float),
                       result.curve_x, result.curves)
        for extra, values in (result.extra or {}).items():
            self.store.add(item.seed, item.model, explainer, f"{metric}-{extra}", idx, np.asarray(values, dtype=float))


def _spread(result: MetricResult, rows: np.ndarray, n: int) -> MetricResult:
    """A result computed on ``rows`` of a chunk of ``n`` samples, NaN on the others (scores, curves, extras)."""
    from ..metrics import MetricResult

    def spread(values: Any, width: int | None = None) -> np.ndarray:
        out = np.full((n,) if width is None else (n, width), np.nan)
        out[rows] = np.asarray(values, dtype=float)
        return out

    curves = spread(result.curves, len(result.curve_x)) if result.curves is not None else None
    return MetricResult(spread(result.scores), curves, result.curve_x,
                        {k: spread(v) for k, v in (result.extra or {}).items()})
