"""The conservation metric: hand-computed gaps on a linear model, AttnLRP's own budget, and its rows in a run."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from torch import nn
from torch.utils.data import TensorDataset

import iabench
from iabench.baselines import create_explainer
from iabench.errors import OptionError
from iabench.metrics import create_metric


class _Linear(nn.Module):
    """logits = w . x + b for every class, with class k's weights scaled by k + 1."""

    def __init__(self, bias: float) -> None:
        super().__init__()
        self.weight = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (x[:, 0] * self.weight).flatten(1).sum(1) + self.bias
        return torch.stack([score * (k + 1) for k in range(3)], dim=1)


def test_gap_is_the_bias_share_of_the_logit() -> None:
    images = torch.tensor([[[[1.0, 1.0], [2.0, 1.0]]], [[[0.0, 1.0], [1.0, 1.0]]]])  # w.x = 3 and 1.5
    targets = torch.tensor([0, 2])
    metric = create_metric("conservation")
    for bias, expected in ((0.0, [0.0, 0.0]), (0.5, [0.5 / 3.5, 1.5 / 6.0])):  # |b| (k+1) / |f|
        model = _Linear(bias)
        explainer = create_explainer("input-x-gradient", model)
        saliency = explainer.attribute(images, targets)
        result = metric(model, images, targets, saliency, explain_fn=lambda m, x, t, e=explainer: e.attribute(x, t))
        np.testing.assert_allclose(result.scores, expected, atol=1e-6)
        assert result.extra == {}  # input x gradient keeps no budget


def test_attnlrp_budget_is_used_and_the_softmax_share_reported() -> None:
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=4,
                              embed_dim=16, depth=2, num_heads=2).eval()
    images, targets = torch.randn(3, 1, 16, 16), torch.tensor([0, 1, 2])
    budget = create_explainer("attnlrp", model).relevance_budget(images, targets)
    scores = iabench.evaluate(model, TensorDataset(images, targets), explainers=["attnlrp"],
                              metrics=["conservation"], samples=None)
    by_metric = {name: rows.sort_values("sample").value.to_numpy() for name, rows in scores.groupby("metric")}
    logit = budget["logit"].double().numpy()
    np.testing.assert_allclose(by_metric["conservation"], np.abs(logit - budget["input"].double().numpy())
                               / np.abs(logit), rtol=1e-5)
    np.testing.assert_allclose(by_metric["conservation-softmax"],
                               np.abs(budget["absorbed"].double().numpy()) / np.abs(logit), rtol=1e-5)
    assert np.all(np.abs(by_metric["conservation-softmax"]) > 1e-4)


def test_conservation_takes_no_options() -> None:
    with pytest.raises(OptionError, match="takes no options"):
        create_metric("conservation", level="patch")


def test_a_run_scores_conservation_only_for_maps_that_decompose_the_logit() -> None:
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=4,
                              embed_dim=16, depth=1, num_heads=2).eval()
    data = TensorDataset(torch.randn(2, 1, 16, 16), torch.tensor([0, 1]))
    scores = iabench.evaluate(model, data, explainers=["attention", "input-x-gradient"],
                              metrics=["conservation", "deletion"], samples=None)
    pairs = set(zip(scores.explainer, scores.metric))
    assert ("input-x-gradient", "conservation") in pairs and ("attention", "deletion") in pairs
    assert ("attention", "conservation") not in pairs


@pytest.mark.parametrize(("name", "options"), [("integrated-gradients", {}),
                                               ("integrated-gradients[blur]", {"sigma": 1.0, "kernel": 3})])
def test_integrated_gradients_gap_is_measured_from_the_baseline_logit(name: str, options: dict) -> None:
    # a linear model: integrated gradients is exact, so the map sums to f(x) - f(x') and the gap is 0, while
    # the sum differs from f(x) itself by f(x') (the blur baseline's logit is not 0)
    model = _Linear(0.5)
    images, targets = torch.tensor([[[[1.0, 1.0], [2.0, 1.0]]]]), torch.tensor([1])
    scores = iabench.evaluate(model, TensorDataset(images, targets), explainers=[{"name": name, "options": options}],
                              metrics=["conservation"], samples=None)
    assert scores.value.abs().max() < 1e-4  # float32 rounding only
    saliency = create_explainer(name, model, **options).attribute(images, targets)
    plain = lambda m, x, t: saliency  # noqa: E731 - a plain function: no reference logit to subtract
    assert create_metric("conservation")(model, images, targets, saliency, explain_fn=plain).scores[0] > 0.05
    with pytest.raises(ValueError, match="conservation needs the explainer"):  # never that number silently
        create_metric("conservation")(model, images, targets, saliency)
