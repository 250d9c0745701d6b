"""The records a run writes of its explainers and metrics (explainers.json, metrics.json) and its dataset (the
manifest), built from the registered classes: the one place that turns a class into its record
(``iabench.records``), for the run (``artifacts``) and for ``iabench refresh`` alike."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..baselines import FAMILIES as EXPLAINER_FAMILIES
from ..baselines import matched_control
from ..config import DataConfig
from ..data import DataBundle, dataset_class, dataset_options
from ..metrics import FAMILIES as METRIC_FAMILIES
from ..records import DatasetRecord, ExplainerRecord, MetricRecord
from ..suites import MethodSpec


def dataset_record(bundle: DataBundle, config: DataConfig) -> DatasetRecord:
    """The loaded dataset's record: its plugin's declaration, its validated options and the bundle's figures."""
    cls, options = dataset_class(config.name), dataset_options(config)
    return DatasetRecord(
        name=bundle.name, description=cls.description, options=dataclasses.asdict(options),
        masks=bundle.masks, num_classes=bundle.num_classes, in_chans=bundle.in_chans, img_size=bundle.img_size,
        mean=tuple(bundle.mean), std=tuple(bundle.std), source=bundle.source,
        sizes=dict(train=len(bundle.train), val=len(bundle.val), test=len(bundle.test)),  # type: ignore[arg-type]
        ground_truth=cls.ground_truth.record(options) if cls.ground_truth is not None else None,
        options_added_later=dict(getattr(options, "HASH_NEUTRAL", {})))


def explainer_record(cls: type) -> ExplainerRecord:
    """An explainer class's record (a resolved ``shuffled:NAME`` class names the explainer it shuffles)."""
    source = getattr(cls, "source", None)
    return ExplainerRecord(
        name=cls.name, display_name=cls.display_name or cls.name, family=cls.family,
        family_rank=EXPLAINER_FAMILIES.index(cls.family), reference=cls.reference, baseline=cls.baseline,
        description=cls.description, signed=cls.signed, decomposes_logit=cls.decomposes_logit,
        resolution=cls.resolution, control=matched_control(cls.resolution), shuffles=source.name if source else None,
        needs_ia_vit=cls.needs.ia_vit, needs_target=cls.needs.target, cost=cls.cost)


def records_of_metric(label: str, metric: Any, scope: MethodSpec | None = None) -> dict[str, MetricRecord]:
    """A metric instance's record under ``label`` (``scope``: the suite's spec, which may score a subset of the
    images or explainers), and one per extra score under ``label-EXTRA``, with its own direction and description."""
    needs = metric.needs
    protocol = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in metric.protocol().items()}
    record = MetricRecord(
        name=metric.name, direction=metric.direction, display_name=metric.title(), reference=metric.reference,
        description=metric.description, family=metric.family, family_rank=METRIC_FAMILIES.index(metric.family),
        curve=metric.curve, samples=scope.samples if scope else None,
        explainers=tuple(scope.explainers) if scope and scope.explainers else None, needs_ia_vit=needs.ia_vit,
        needs_saliency=needs.saliency, needs_masks=needs.masks, needs_explain_fn=needs.explain_fn,
        needs_decomposition=needs.decomposition, **protocol)
    out = {label: record}
    for extra, (direction, description) in metric.extras.items():
        out[f"{label}-{extra}"] = dataclasses.replace(record, direction=direction, description=description,
                                                      extra_of=label, display_name=f"{record.display_name} ({extra})")
    return out
