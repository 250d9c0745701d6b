"""Model-level metrics (no saliency): accuracy and the interpreter-predictor agreement on models whose
outputs are set by hand."""

from __future__ import annotations

import torch
from torch import nn

from iabench.metrics import METRICS, create_metric


class FixedLogits(nn.Module):
    """Returns given logits, one row per image (by batch position); records whether grad was enabled and
    the mode it ran in."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits, self.grad_enabled, self.modes = logits, [], []
        self.weight = nn.Parameter(torch.ones(()))  # a parameter, so a forward under grad builds a graph

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.grad_enabled.append(torch.is_grad_enabled())
        self.modes.append(self.training)
        return self.logits[: images.shape[0]] * self.weight


def test_accuracy_is_top1_correctness_in_eval_mode_without_a_graph() -> None:
    model = FixedLogits(torch.tensor([[0.0, 0.0, 3.0], [5.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 1.0, 0.0]]))
    model.train()
    # predictions 2, 0, 1, 1: below, at and above the labels
    scores = create_metric("accuracy")(model, torch.zeros(4, 1, 2, 2), torch.tensor([2, 1, 0, 1])).scores
    assert scores.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert model.modes == [False] and model.training and model.grad_enabled == [False]


def test_only_model_level_metrics_need_no_saliency() -> None:
    assert {name for name in METRICS.names() if not METRICS.get(name).needs_saliency} == {"accuracy", "agreement"}
