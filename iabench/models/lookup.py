"""Which family serves a model: ``seam_of`` asks each family in ``families/`` (those whose library is loaded) whether
it accepts the model, and the lookups explainers and metrics use are built on it."""

from __future__ import annotations

import sys

from torch import nn

from .families import families, supported
from .seam import Seam, SeamClassifier, UnsupportedModel


def family_seams() -> list[type[Seam]]:
    """The seam class of every family whose library is loaded (a model of an unloaded library cannot exist)."""
    return [family.seam for family in families() if family.library in sys.modules]


def seam_of(model: nn.Module) -> Seam:
    """The seam of ``model`` (built afresh: cheap, and never stale after a module is swapped). A model no family
    serves is an ``UnsupportedModel`` naming the supported ones; one a family half-serves says what it lacks."""
    if isinstance(model, SeamClassifier):
        return model.family_seam(model.wrapped)
    held = getattr(model, "seam", None)  # a SeamForward carries the seam it was built from
    if isinstance(held, Seam):
        return held
    for seam in family_seams():
        root = seam.accepts(model)
        if root is not None:
            return seam(root)
    raise UnsupportedModel(f"iabench cannot explain a {type(model).__name__}: it serves {supported()}")


def as_classifier(model: nn.Module) -> nn.Module:
    """``model`` as explainers and metrics take it: a module whose forward returns logits (checked: served)."""
    return model if isinstance(model, SeamClassifier) else seam_of(model).classifier


def explainable(model: nn.Module) -> nn.Module:
    """``model`` as explainers take it: a ViT of a family the seam serves as a module returning logits; any other
    model as it is (the methods that read a ViT's parts then refuse it in one line), except a transformers model
    the seam cannot serve, refused now (its forward returns an output object no method could read)."""
    try:
        return as_classifier(model)
    except UnsupportedModel:
        if type(model).__module__.startswith("transformers."):
            raise
        return model


def is_feature_map(model: nn.Module) -> bool:
    """Whether the seam reads ``model`` as a feature-map model (a CNN, a Swin: no tokens, no attention)."""
    try:
        return seam_of(model).kind == "feature-map"
    except UnsupportedModel:
        return False


def patch_size_of(model: nn.Module, default: int | None = None) -> tuple[int, int]:
    """The model's patch size (rows, columns); ``default`` (square) for a model the seam does not serve."""
    try:
        return seam_of(model).patch_size
    except UnsupportedModel:
        if default is None:
            raise
        return (default, default)
