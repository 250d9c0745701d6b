"""Model modes for explaining and predicting: eval mode that restores every submodule's own mode, with or without
gradients. Below the explainers and ``iabench.targets``, which both use them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration; every submodule's own mode is restored afterwards (modes may be mixed)."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


@contextmanager
def explaining(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode with gradients enabled (even under an outer ``torch.no_grad``) for the duration."""
    with eval_mode(model), torch.enable_grad():
        yield model
