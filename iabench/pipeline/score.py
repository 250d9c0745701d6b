"""Stage 4, score: every metric of a work item on every chunk of samples, appended to the results store.

A chunk whose scores are all stored already is skipped (a resumed run continues where it stopped); a
non-finite saliency map is recorded as a failure and scores NaN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..baselines import EXPLAINERS, BoundExplainer
from ..config import config_hash
from ..contract import Context
from ..metrics import MetricResult
from ..store import MODEL_LEVEL
from ..suites import MethodSpec
from ..targets import explained_targets
from .costs import CostBook, cost_key
from .explain import Explanations
from .plan import WorkItem, applies, scores_maps_of
from .precision import scoring
from .samples import Samples
from .shards import Shard


@dataclass
class Subject:
    """A model under evaluation: the module, its kind ("vit" / "ia-vit") and a key naming its weights."""

    model: nn.Module
    kind: str
    key: str
    shape: str = ""  # names the model's shape (costs.shape_key): what the cost of explaining an image depends on


class Scorer:
    """Scores work items chunk by chunk into ``store`` (a ResultStore: ``missing`` and ``add``)."""

    def __init__(self, metrics: dict[str, Any], explanations: Explanations, store: Any, samples: Samples,
                 device: torch.device, target: str, batch_size: int, shard: Shard | None = None,
                 specs: list[MethodSpec] | None = None, costs: CostBook | None = None) -> None:
        # costs: where the seconds per image of each explainer and metric are counted
        self.metrics, self.explanations, self.store, self.costs = metrics, explanations, store, costs
        # what each metric scores (MethodSpec.samples: the first N images; .explainers: those labels only)
        self.specs = {spec.label: spec for spec in specs or []}
        self.samples, self.device, self.target, self.chunks = samples, device, target, (shard or Shard()).take(
            samples.chunks(batch_size))  # the chunks of this shard (all of them for a one-process run)

    def wanted(self, item: WorkItem, kind: str) -> dict[str, Any]:
        """The metrics that score ``item`` on a model of ``kind``: label -> metric."""
        return {k: m for k, m in self.metrics.items() if applies(m, kind) and m.needs.saliency == (
                item.explainer is not None)
                and (item.explainer is None or scores_maps_of(m, self.explanations.classes[item.explainer]))
                and (k not in self.specs or self.specs[k].scores(item.explainer))}

    def __call__(self, item: WorkItem, subject: Subject, chunks: list[tuple[int, int]] | None = None) -> None:
        """Score ``item`` on ``chunks`` (default: this scorer's share of the run's chunks)."""
        wanted = self.wanted(item, subject.kind)
        for start, stop in self.chunks if chunks is None else chunks:
            idx = self.samples.indices[start:stop]
            todo = {k: m for k, m in wanted.items() if self.store.missing(
                (item.seed, item.model, item.explainer or MODEL_LEVEL, k, s) for s in idx[:self.count(k, start, stop)])}
            if not todo:
                continue
            images = self.samples.images[start:stop].to(self.device)
            labels = self.samples.labels[start:stop].to(self.device)
            if item.explainer is None:
                for label, metric in todo.items():
                    n = self.count(label, start, stop)
                    started = time.perf_counter()
                    with scoring(self.device, metric):
                        self._add(item, label, idx[:n], metric.score(Context(subject.model, images[:n], labels[:n])))
                    self._count_cost("metric", label, subject, time.perf_counter() - started, n)
            else:
                masks = {name: m.to(self.device) for name, m in self.samples.masks_of(start, stop).items()}
                counts = {label: self.count(label, start, stop) for label in todo}
                self._explained(item, subject, todo, idx, images, labels, masks, counts)

    def count(self, label: str, start: int, stop: int) -> int:
        """How many images of the chunk [start, stop) metric ``label`` scores: all, or up to its ``samples``."""
        limit = self.specs[label].samples if label in self.specs else None
        return stop - start if limit is None else max(0, min(stop, limit) - start)

    def _explained(self, item: WorkItem, subject: Subject, todo: dict[str, Any], idx: list[int],
                   images: torch.Tensor, labels: torch.Tensor, masks: dict[str, torch.Tensor],
                   counts: dict[str, int]) -> None:
        """Explain one chunk and score it with every metric of ``todo``; ``masks``: the chunk's masks by name (""
        the evidence mask), each metric given the one its ``mask`` option names."""
        explain = self.explanations
        started = time.perf_counter()
        targets = explained_targets(subject.model, images, labels, self.target)
        saliency = explain(subject.model, subject.key, item.explainer, images, targets, idx, item.seed, item.model,
                           masks.get(""))
        if explain.computed:  # a map read from the cache costs nothing to count
            self._count_cost("explain", item.explainer, subject, time.perf_counter() - started, len(idx))
        finite = torch.isfinite(saliency.flatten(1)).all(1)
        if not finite.all():
            bad = [s for s, ok in zip(idx, finite.tolist()) if not ok]
            explain.failures.record(item.seed, item.model, item.explainer, bad, "saliency is not finite (NaN or inf)")
        for label, metric in todo.items():
            n = counts[label]
            keep = finite[:n].nonzero().flatten()
            result = MetricResult(np.full(n, np.nan))
            started = time.perf_counter()
            if len(keep):
                ctx = Context(subject.model, images, targets, saliency, masks.get(getattr(metric.options, "mask", "")),
                              explainer=explain.handle(item.explainer) if metric.needs.explain_fn else None)
                reference = getattr(metric, "reference_spec", None)
                if reference is not None:  # the reference explainer; its map of this chunk when the suite runs it
                    label_of = explain.reference_label(metric, subject.kind)
                    other = None if label_of is None else saliency if label_of == item.explainer else explain(
                        subject.model, subject.key, label_of, images, targets, idx, item.seed, item.model)
                    ctx = replace(ctx, reference=BoundExplainer(EXPLAINERS.get(reference[0]), reference[1]),
                                  reference_map=other)
                with scoring(self.device, metric):
                    scored = metric.score(ctx.take(keep))
                result = _spread(scored, keep.cpu().numpy(), n)
            self._add(item, label, idx[:n], result, item.explainer)
            self._count_cost("metric", label, subject, time.perf_counter() - started, n)

    def _count_cost(self, stage: str, label: str, subject: Subject, seconds: float, images: int) -> None:
        if self.costs is not None and subject.shape and images:
            self.costs.add(method_cost_key(self, stage, label, subject.shape), seconds, images)

    def _add(self, item: WorkItem, metric: str, idx: list[int], result: Any, explainer: str = MODEL_LEVEL) -> None:
        """Store a metric's per-sample scores (and curves), and each extra value as metric '<metric>-<suffix>'."""
        self.store.add(item.seed, item.model, explainer, metric, idx, np.asarray(result.scores, dtype=float),
                       result.curve_x, result.curves)
        for extra, values in (result.extra or {}).items():
            self.store.add(item.seed, item.model, explainer, f"{metric}-{extra}", idx, np.asarray(values, dtype=float))


def pending_images(scorer: Scorer, item: WorkItem, kind: str) -> dict[str, int]:
    """label -> how many images of ``scorer``'s chunks each metric of ``item`` has still to score."""
    counts = {}
    for label in scorer.wanted(item, kind):
        counts[label] = sum(len(scorer.store.missing((item.seed, item.model, item.explainer or MODEL_LEVEL, label, s)
                                                   for s in scorer.samples.indices[start:start + scorer.count(
                                                       label, start, stop)])) for start, stop in scorer.chunks)
    return counts


def method_cost_key(scorer: Scorer, stage: str, label: str, shape: str) -> str:
    """The key of explainer or metric ``label``'s seconds per image on a model of ``shape`` (see costs.py)."""
    specs = scorer.explanations.specs if stage == "explain" else scorer.specs
    options = specs[label].options if label in specs else {}
    what = f"{label}#{config_hash(options)[:6]}" if options else label
    return cost_key(stage, scorer.device, torch.get_num_threads(), what, shape)


def _spread(result: MetricResult, rows: np.ndarray, n: int) -> MetricResult:
    """A result computed on ``rows`` of a chunk of ``n`` samples, NaN on the others (scores, curves, extras)."""
    def spread(values: Any, width: int | None = None) -> np.ndarray:
        out = np.full((n,) if width is None else (n, width), np.nan)
        out[rows] = np.asarray(values, dtype=float)
        return out

    curves = spread(result.curves, len(result.curve_x)) if result.curves is not None else None
    return MetricResult(spread(result.scores), curves, result.curve_x,
                        {k: spread(v) for k, v in (result.extra or {}).items()})
