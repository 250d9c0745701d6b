"""Explainers: a name -> explainer registry (``iabench.baselines``), one module per method.

The contract (base class, registry, handle) is in ``_base``; this package imports every module so that each
registers itself. See ``_base`` for what an explainer declares and returns.
"""

from __future__ import annotations

import importlib
import pkgutil

from iabench.baselines._base import (
    EXPLAINERS,
    FAMILIES,
    MATCHED_CONTROLS,
    RESOLUTIONS,
    BoundExplainer,
    Explainer,
    create_explainer,
    matched_control,
    upsample_patch_map,
)


def _import_all() -> None:
    """Import every module of this package so that its ``@EXPLAINERS.register`` runs."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["EXPLAINERS", "FAMILIES", "MATCHED_CONTROLS", "RESOLUTIONS", "BoundExplainer", "Explainer",
           "create_explainer", "matched_control", "upsample_patch_map"]
