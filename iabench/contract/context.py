"""The one context a metric is scored with: the model, the images and what else a metric may use, as named
fields (no keyword arguments swallowed, nothing attached to a function)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import nn

# explain(model, images, targets) -> (B, H, W) saliency; the sanity metrics re-explain a changed model
ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


class ExplainerHandle(Protocol):
    """What a metric may ask of an explainer: its maps of any model, and the numbers only some explainers have
    (AttnLRP's relevance budget, integrated gradients' reference logit; None where an explainer has none)."""

    baseline: str | None

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def relevance_budget(self, model: nn.Module, images: torch.Tensor,
                         targets: torch.Tensor) -> dict[str, torch.Tensor] | None: ...

    def reference_logit(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None: ...


@dataclass(frozen=True)
class FunctionExplainer:
    """A plain explain function as an ``ExplainerHandle`` (no budget, no reference logit)."""

    fn: ExplainFn
    baseline: str | None = None

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.fn(model, images, targets)

    def relevance_budget(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> None:
        return None

    def reference_logit(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> None:
        return None


@dataclass(frozen=True)
class Context:
    """Everything a metric may use. ``explainer``: the explainer whose maps are scored (given to the metrics that
    declare ``Needs.explain_fn``); ``reference``: a metric's reference explainer (rank correlation), whose maps of
    these images the run may already hold (``reference_map``)."""

    model: nn.Module
    images: torch.Tensor
    targets: torch.Tensor
    saliency: torch.Tensor | None = None
    masks: torch.Tensor | None = None
    explainer: ExplainerHandle | None = None
    reference: ExplainerHandle | None = None
    reference_map: torch.Tensor | None = None

    def take(self, rows: torch.Tensor | slice) -> Context:
        """The same context for a subset of its images (rows: indices or a slice)."""
        def pick(value: torch.Tensor | None) -> torch.Tensor | None:
            return None if value is None else value[rows]

        return replace(self, images=self.images[rows], targets=self.targets[rows], saliency=pick(self.saliency),
                       masks=pick(self.masks), reference_map=pick(self.reference_map))
