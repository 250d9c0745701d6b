"""Metrics: a name -> metric registry (``iabench.metrics``), one module per metric.

Contract (Quantus-style): ``METRICS.create(name, **options)(model, images, targets, saliency, ...)``
returns a ``MetricResult`` with one score per sample (and per-sample curves for curve metrics).
``direction`` says whether higher or lower is better, ``description`` what the number measures and
``family`` which kind of property it tests (one of ``FAMILIES``); the docstring of each metric cites its
definition. Images are in the model's input space (normalised), saliency is (B, H, W).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from iabench.registry import Registry

# explain(model, images, targets) -> (B, H, W) saliency; the sanity metrics re-explain a changed model.
ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class MetricResult:
    """Per-sample scores (B,), optional per-sample curves (B, steps) with their x positions."""

    scores: np.ndarray
    curves: np.ndarray | None = None
    curve_x: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # further per-sample values, by name


# the metric families, in the order the docs' table and `iabench list` show them
FAMILIES = ("faithfulness", "localisation", "robustness", "complexity", "sanity", "model", "agreement", "diagnostics")


class Metric:
    """Base class. Subclasses set the class attributes and implement ``__call__``."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    direction: ClassVar[str] = "higher"  # "higher" or "lower" is better
    reference: ClassVar[str] = ""
    description: ClassVar[str] = ""  # one line, no trailing period: what the number measures (not its direction)
    family: ClassVar[str] = ""  # one of FAMILIES
    # extra per-sample values (``MetricResult.extra``), stored as metric "<name>-<suffix>":
    # suffix -> (direction, description), each the extra's own
    extras: ClassVar[dict[str, tuple[str, str]]] = {}
    needs_saliency: ClassVar[bool] = True
    needs_masks: ClassVar[bool] = False
    needs_explain_fn: ClassVar[bool] = False
    needs_ia_vit: ClassVar[bool] = False
    # True: scores only maps that decompose the target logit (``Explainer.decomposes_logit``); others are skipped
    needs_decomposition: ClassVar[bool] = False

    def __init__(self, **options: object) -> None:
        self.options = options

    def __call__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        targets: torch.Tensor,
        saliency: torch.Tensor | None = None,
        *,
        masks: torch.Tensor | None = None,
        explain_fn: ExplainFn | None = None,
    ) -> MetricResult:
        raise NotImplementedError


METRICS: Registry[Metric] = Registry("metric")


def create_metric(name: str, **options: object) -> Metric:
    return METRICS.create(name, **options)


def _import_all() -> None:
    """Import every module of this package so that its ``@METRICS.register`` runs."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["FAMILIES", "METRICS", "ExplainFn", "Metric", "MetricResult", "create_metric"]
