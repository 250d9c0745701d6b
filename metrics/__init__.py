"""Metrics: a name -> metric registry (``iabench.metrics``), one module per metric.

The contract (base class, result, registry) is in ``_base``; this package imports every module so that each
registers itself. See ``_base`` for what a metric declares and returns.
"""

from __future__ import annotations

from iabench.contract import ExplainFn
from iabench.metrics._base import DIRECTIONS, FAMILIES, METRICS, Metric, MetricResult, create_metric

METRICS.discover()  # each module of this package registers its metric

__all__ = ["DIRECTIONS", "FAMILIES", "METRICS", "ExplainFn", "Metric", "MetricResult", "create_metric"]
