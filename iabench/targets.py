"""Which class each image is explained for, and scored on: the suite's ``target``.

- ``label``: the true label, as given;
- ``predicted``: the model's top-1 class, from a forward in eval mode (dropout off, as the explanations are
  computed), without building a graph.
"""

from __future__ import annotations

import torch
from torch import nn

from .modes import eval_mode  # the explainers' own: restores each submodule's mode

TARGETS = ("label", "predicted")


def explained_targets(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, target: str) -> torch.Tensor:
    """The classes (B,) to explain ``images`` for under the suite's ``target`` choice."""
    if target == "label":
        return labels
    if target != "predicted":
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got '{target}'")
    with eval_mode(model), torch.inference_mode():
        return model(images).argmax(1)
