"""Explainers: a name -> explainer registry (``iabench.baselines``), one module per method.

The contract (base class, registry, handle) is in ``_base``; this package imports every module so that each
registers itself. See ``_base`` for what an explainer declares and returns.
"""

from __future__ import annotations

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
from iabench.baselines._feature_maps import not_on_feature_maps

EXPLAINERS.discover()  # each module of this package registers its explainer

__all__ = ["EXPLAINERS", "FAMILIES", "MATCHED_CONTROLS", "RESOLUTIONS", "BoundExplainer", "Explainer",
           "create_explainer", "matched_control", "not_on_feature_maps", "upsample_patch_map"]
