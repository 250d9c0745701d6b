"""Model-level metrics (no saliency): accuracy and the interpreter-predictor agreement on models whose
outputs are set by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from support import FixedLogits
from torch import nn

from iabench.metrics import METRICS, create_metric
from iabench.models.vit import ModelOutput


def test_accuracy_is_top1_correctness_in_eval_mode_without_a_graph() -> None:
    model = FixedLogits(torch.tensor([[0.0, 0.0, 3.0], [5.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 1.0, 0.0]]))
    model.train()
    # predictions 2, 0, 1, 1: below, at and above the labels
    scores = create_metric("accuracy")(model, torch.zeros(4, 1, 2, 2), torch.tensor([2, 1, 0, 1])).scores
    assert scores.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert model.modes == [False] and model.training and model.grad_enabled == [False]


def test_only_model_level_metrics_need_no_saliency() -> None:
    assert {name for name in METRICS.names() if not METRICS.get(name).needs.saliency} == {"accuracy", "agreement"}


class FixedIAViT(nn.Module):
    """An IA-ViT stand-in: predictor and interpreter logits set by hand; records forward_all's arguments."""

    def __init__(self, logits: torch.Tensor, inter_logits: torch.Tensor) -> None:
        super().__init__()
        self.interpreter = nn.Identity()
        self.logits, self.inter_logits, self.calls = logits, inter_logits, []

    def forward_all(self, images: torch.Tensor, attention: bool = True) -> ModelOutput:
        self.calls.append((attention, self.training))
        return ModelOutput(self.logits, self.inter_logits, None, None)


def test_agreement_kl_and_interpreter_accuracy_by_hand() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    inter = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    model = FixedIAViT(logits, inter).train()
    # predictor classes 0, 1, 2, 0 and interpreter classes 0, 2, 1, 0: the interpreter's class below, at
    # and above the label
    result = create_metric("agreement")(model, torch.zeros(4, 1, 2, 2), torch.tensor([1, 2, 0, 0]))
    assert result.scores.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert result.extra["inter-accuracy"].tolist() == [0.0, 1.0, 0.0, 1.0]
    p, q = logits.double().softmax(1), inter.double().softmax(1)
    # KL(predictor || interpreter)
    kl = [sum(p[i, c] * math.log(p[i, c] / q[i, c]) for c in range(3)) for i in range(4)]
    np.testing.assert_allclose(result.extra["kl"], kl, rtol=1e-5, atol=1e-7)  # computed in float32
    assert model.calls == [(False, False)] and model.training  # no attention maps; eval mode, then restored


def test_a_constant_map_keeps_quantus_complexity() -> None:
    """Complexity (Bhatt et al. 2020) is the entropy of the normalised map: log(H W) for a constant one."""
    model = FixedLogits(torch.zeros(2, 3))
    maps = torch.full((2, 4, 4), 0.5)
    maps[1, 0, 0] = 1.0  # Quantus refuses a batch whose maps are all constant
    with pytest.warns(RuntimeWarning, match="constant"):
        scores = create_metric("complexity")(model, torch.zeros(2, 1, 4, 4), torch.tensor([0, 1]), maps).scores
    assert scores[0] == pytest.approx(math.log(16), rel=1e-6)
