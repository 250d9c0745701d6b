"""What a run file says about an explainer or a metric, else what its registered class says.

The report is built from stored files (explainers.json, metrics.json); runs written before a field existed
lack it, and then the registered class's attribute (``Explainer.signed``, ``Metric.family``, ...) stands in.
"""

from __future__ import annotations

import functools


@functools.cache
def _registry(kind: str) -> object | None:
    """The explainer or metric registry, or None when it fails to import: a report is built from stored
    files and must not depend on the methods' code (importing it once is also slow: torch)."""
    try:
        if kind == "explainer":
            from iabench.baselines import EXPLAINERS as registry
        else:
            from iabench.metrics import METRICS as registry
    except Exception:  # noqa: BLE001 - any failure to import the registry means: no fallback
        return None
    return registry


def info_of(kind: str, label: str, infos: dict, attribute: str, default: object) -> object:
    """``infos[label][attribute]`` (explainers.json / metrics.json), else the registered class's attribute (by
    the stored ``name``, else the label), else ``default``; ``kind`` is "explainer" or "metric"."""
    info = infos.get(label) or {}
    if info.get(attribute) is not None:
        return info[attribute]
    registry, name = _registry(kind), str(info.get("name", label))
    value = getattr(registry.get(name), attribute, None) if registry is not None and name in registry else None
    return default if value in (None, "") else value
