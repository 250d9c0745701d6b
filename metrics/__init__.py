"""Metrics: a name -> metric registry (``iabench.metrics``), one module per metric.

The contract (base class, result, registry) is in ``_base``; this package imports every module so that each
registers itself. See ``_base`` for what a metric declares and returns.
"""

from __future__ import annotations

import importlib
import pkgutil

from iabench.contract import ExplainFn
from iabench.metrics._base import DIRECTIONS, FAMILIES, METRICS, Metric, MetricResult, create_metric


def _import_all() -> None:
    """Import every module of this package so that its ``@METRICS.register`` runs."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["DIRECTIONS", "FAMILIES", "METRICS", "ExplainFn", "Metric", "MetricResult", "create_metric"]
