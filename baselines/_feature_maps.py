"""The one-line refusal of explainers a feature-map model (a CNN, a Swin: no tokens, no attention) cannot take,
naming those it can: said alike by the explainer itself, the Python API and the command line."""

from __future__ import annotations

from iabench.models import UnsupportedModel
from iabench.registry import Registry


def not_on_feature_maps(labels: list[str], model: str, explainers: Registry) -> UnsupportedModel:
    """The refusal of explainers ``labels`` that read a ViT's tokens or attention, on ``model`` (words, e.g. 'a
    ResNet'), naming the explainers of the registry ``explainers`` that apply to it."""
    applying = [n for n in explainers.names() if explainers.get(n).needs.applies_to("feature-map")]
    return UnsupportedModel(f"{', '.join(labels)} read{'s' * (len(labels) == 1)} a ViT's tokens or attention, which "
                            f"{model} does not have; on it these apply: {', '.join(applying)}")
