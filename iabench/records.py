"""What a run records about its explainers and metrics (explainers.json, metrics.json) and its data (the manifest's
``dataset``), typed once: ``MetricRecord``, ``ExplainerRecord`` and ``DatasetRecord`` are the fields the writer
(``pipeline.records`` builds them from the registered classes) and the reader (``reporting``, which never falls
back on the registered classes: a report is built from the run's files alone) agree on. Each JSON entry is one
record's ``to_json()``; ``read`` turns it back.

A run folder written before a field existed is refused in one line naming ``iabench refresh RUN_DIR``, which
completes its records once from the registries (``iabench.refresh``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Shared by the two record types: JSON in and out; fields in ``OPTIONAL`` are written only when set."""

    OPTIONAL: tuple[str, ...] = ()

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """The fields every entry of this version holds."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in cls.OPTIONAL)  # type: ignore[arg-type]

    @classmethod
    def read(cls: type[R], label: str, entry: Mapping[str, Any] | R) -> R:
        """The record of a JSON entry (unknown keys ignored, lists as tuples, a missing name = the label); a record is
        returned as it is."""
        if isinstance(entry, cls):
            return entry
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        # None or "" where the entry recorded nothing: the field's default (a name: the label)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(entry).items()
                  if k in known and v is not None and not (k == "name" and not v)}
        return cls(**{"name": label, **values})

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()
                if not (k in self.OPTIONAL and v is None)}


@dataclass(frozen=True)
class MetricRecord(Record):
    """One metrics.json entry: a metric label's registered description, protocol and scope."""

    name: str
    direction: str = "higher"  # "higher" or "lower" is better
    display_name: str = ""
    reference: str = ""
    description: str = ""
    family: str = "other"  # one of metrics.FAMILIES
    family_rank: int | None = None  # its place in metrics.FAMILIES (the report's order); None: not recorded
    curve: bool = False  # a perturbation curve (insertion, deletion, MoRF, LeRF)
    curve_axes: tuple[str, ...] | None = None  # the curve's x and y axis labels
    substrate: str | None = None  # what removed pixels become (curve metrics)
    unit: str | None = None  # what moves per step: "pixel" or "patch" (curve metrics)
    auc: str | None = None  # which area a curve metric reports: "trapezoid" or "mean"
    samples: int | None = None  # scored on the first N images only
    explainers: tuple[str, ...] | None = None  # scored for these explainers only
    needs_ia_vit: bool = False
    needs_saliency: bool = True
    needs_masks: bool = False
    needs_explain_fn: bool = False
    needs_decomposition: bool = False
    black_value: tuple[float, ...] | float | None = None  # the black substrate's value per channel
    extra_of: str | None = None  # a metric's extra score: the label of the metric that computes it
    mask: str | None = None  # a ground-truth score: the dataset's mask it scores against (None: the evidence mask)

    OPTIONAL = ("black_value", "extra_of", "mask")

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"

    @property
    def scoped(self) -> bool:
        """Scored on a subset of the images or explainers."""
        return bool(self.samples or self.explainers)


@dataclass(frozen=True)
class ExplainerRecord(Record):
    """One explainers.json entry: an explainer label's registered description."""

    name: str
    display_name: str = ""
    family: str = "other"  # one of baselines.FAMILIES
    family_rank: int | None = None
    reference: str = ""
    baseline: str | None = None  # the substrate its own reference input equals (favoured under it)
    description: str = ""
    signed: bool = False
    decomposes_logit: bool = False
    resolution: str = "pixel"  # "pixel" or "patch": the map's own resolution
    control: str = "random"  # the random control of its resolution
    shuffles: str | None = None  # shuffled:NAME: the explainer whose map it permutes
    needs_ia_vit: bool = False
    needs_target: bool = True
    cost: str = ""

    @property
    def is_control(self) -> bool:
        return self.family == "control"


@dataclass(frozen=True)
class DatasetRecord(Record):
    """The manifest's ``dataset`` entry: what the data was (its plugin's declaration and the loaded bundle)."""

    name: str
    description: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # every option, defaults included
    masks: tuple[str, ...] = ()  # the masks its items carry; the first is what localisation scores against
    num_classes: int = 0
    in_chans: int = 0
    img_size: int = 0
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    source: str = ""
    sizes: Mapping[str, int] = dataclasses.field(default_factory=dict)  # train, val, test
    # planted evidence: its labelling, evidence mask and model contrast (``GroundTruth.record``); None: none
    ground_truth: Mapping[str, Any] | None = None
    # options the dataset gained after runs were first written, with the value that behaves as before: a run
    # recorded without one of them had that value (the options' HASH_NEUTRAL)
    options_added_later: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    OPTIONAL = ("ground_truth",)


class _Records(dict[str, R]):
    """label -> record of one run, typed once; ``of`` answers for a label the run recorded nothing for."""

    RECORD: type[Record] = Record

    def of(self, label: str) -> R:
        """The record of ``label``, or one with the defaults when the run recorded nothing for it."""
        record = self.get(label)
        return record if record is not None else self.RECORD(name=label)  # type: ignore[call-arg, return-value]


class MetricRecords(_Records[MetricRecord]):
    """label -> MetricRecord (a run's metrics.json)."""

    RECORD = MetricRecord


class ExplainerRecords(_Records[ExplainerRecord]):
    """label -> ExplainerRecord (a run's explainers.json)."""

    RECORD = ExplainerRecord


def metric_records_of(infos: Mapping[str, Any] | None) -> MetricRecords:
    """label -> MetricRecord of metrics.json entries (or records: returned as they are)."""
    return MetricRecords({label: MetricRecord.read(label, entry) for label, entry in (infos or {}).items()})


def explainer_records_of(infos: Mapping[str, Any] | None) -> ExplainerRecords:
    """label -> ExplainerRecord of explainers.json entries (or records: returned as they are)."""
    return ExplainerRecords({label: ExplainerRecord.read(label, entry) for label, entry in (infos or {}).items()})


@dataclass(frozen=True)
class ContrastPairing:
    """A model contrast on planted evidence (after BAM, Yang & Kim 2019), as a dataset declares it and a run records
    it: two runs whose dataset options differ in ``option`` only, one with ``subject`` (whose evidence is the mask
    ``mask``) and one with ``other``; the contrast is each run's evidence mass on ``mask``, subject's minus other's."""

    option: str
    subject: str
    other: str
    mask: str


# each evaluated model's per-image correctness on the test split: arrays "<model>__seed<S>__index" (the images'
# indices in the split) and "<model>__seed<S>__correct" (1 = the predictor was right), uint8 / int64
CORRECTNESS_FILE = "test_correctness.npz"
# each model's reliance checks on planted evidence (iabench.pipeline.reliance), read by the report
RELIANCE_FILE = "reliance.csv"
# the model contrast of planted evidence, in the run folder `iabench contrast` was given first
CONTRAST_FILE = "contrast.csv"
PLACEMENT_FILE = "placement.csv"


def correctness_key(model: str, seed: int | str, part: str) -> str:
    """The array name of ``part`` ("index" or "correct") of ``model``'s seed ``seed`` in CORRECTNESS_FILE."""
    return f"{model}__seed{seed}__{part}"
