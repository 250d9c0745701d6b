"""The metric contract: the base class every metric subclasses, its result and its registry.

Contract (Quantus-style): ``METRICS.create(name, **options)`` builds a metric from its typed options (``Options``);
``metric.score(context)`` returns a ``MetricResult`` with one score per sample (and per-sample curves for curve
metrics), from one ``iabench.contract.Context``; ``metric(model, images, targets, saliency, masks=..., explain_fn=...)``
builds that context for a caller. A metric declares its ``name`` once, what it ``needs``, its ``direction`` (higher
or lower is better), its ``family`` (one of ``FAMILIES``), a one-line ``description`` and its ``reference``; the
registry checks them when the module is imported. Images are in the model's input space (normalised), saliency is
(B, H, W).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from iabench.contract import Context, ExplainerHandle, ExplainFn, FunctionExplainer, Needs, NoOptions, Options
from iabench.contract.options import options_class_problems
from iabench.registry import Registry

# the metric families, in the order the docs' table and `iabench list` show them
FAMILIES = ("faithfulness", "localisation", "robustness", "complexity", "sanity", "model", "agreement", "diagnostics")
DIRECTIONS = ("higher", "lower")


@dataclass
class MetricResult:
    """Per-sample scores (B,), optional per-sample curves (B, steps) with their x positions."""

    scores: np.ndarray
    curves: np.ndarray | None = None
    curve_x: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # further per-sample values, by name


class Metric:
    """Base class. Subclasses set the class attributes and implement ``score``."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    direction: ClassVar[str] = "higher"  # one of DIRECTIONS: which way is better
    reference: ClassVar[str] = ""
    description: ClassVar[str] = ""  # one line, no trailing period: what the number measures (not its direction)
    family: ClassVar[str] = ""  # one of FAMILIES
    # extra per-sample values (``MetricResult.extra``), stored as metric "<name>-<suffix>":
    # suffix -> (direction, description), each the extra's own
    extras: ClassVar[dict[str, tuple[str, str]]] = {}
    needs: ClassVar[Needs] = Needs(saliency=True)
    Options: ClassVar[type[Options]] = NoOptions
    curve: ClassVar[bool] = False  # a perturbation curve: scores the area under per-sample curves

    def __init__(self, **options: object) -> None:
        self.options = self.parse_options(options)

    @classmethod
    def parse_options(cls, options: Mapping[str, object] | None) -> Options:
        """The typed options; an unknown option, a wrong type or a value out of range is one line."""
        return cls.Options.parse(options, f"metric {cls.name}")

    def title(self) -> str:
        """The name the report gives this metric (with its options, when they change what it measures)."""
        return self.display_name or self.name

    def protocol(self) -> dict[str, Any]:
        """What a curve metric's removed pixels become and what moves per step (see the curve metrics)."""
        return dict(substrate=None, unit=None, auc=None, curve_axes=None)

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, *, masks: torch.Tensor | None = None,
                 explain_fn: ExplainFn | None = None, explainer: ExplainerHandle | None = None,
                 reference: ExplainerHandle | None = None, reference_map: torch.Tensor | None = None) -> MetricResult:
        """Score directly: the context from these arguments (``explain_fn``: a plain explain function, or
        ``explainer``: a handle that can also give AttnLRP's budget or IG's reference logit)."""
        handle = explainer if explainer is not None else FunctionExplainer(explain_fn) if explain_fn else None
        return self.score(Context(model, images, targets, saliency, masks, handle, reference, reference_map))

    def score(self, ctx: Context) -> MetricResult:
        raise NotImplementedError


def check_metric(cls: type[Metric]) -> None:
    """What the registry checks of a metric class when its module is imported."""
    problems = []
    if cls.family not in FAMILIES:
        problems.append(f"family {cls.family!r} is not one of {', '.join(FAMILIES)}")
    if cls.direction not in DIRECTIONS or any(d not in DIRECTIONS for d, _ in cls.extras.values()):
        problems.append(f"direction must be one of {', '.join(DIRECTIONS)}")
    if not cls.description or cls.description.endswith(".") or not cls.reference:
        problems.append("it needs a description (one line, no trailing period) and a reference")
    if cls.needs.target:
        problems.append("a metric's needs are ia_vit, saliency, masks, explain_fn and decomposition")
    problems += options_class_problems(cls.Options)
    if problems:
        raise TypeError(f"metric {cls.name}: " + "; ".join(problems))


METRICS: Registry[Metric] = Registry("metric", check_metric, package="iabench.metrics")


def create_metric(name: str, **options: object) -> Metric:
    return METRICS.create(name, **options)
