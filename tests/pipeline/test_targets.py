"""The class each image is explained for: the label as given, or the eval-mode prediction."""

from __future__ import annotations

import pytest
import torch
from support import FixedLogits

from iabench.targets import explained_targets


def test_label_is_returned_as_given_and_predicted_is_the_eval_mode_argmax() -> None:
    labels = torch.tensor([2, 1, 0])
    model = FixedLogits(torch.tensor([[0.0, 0.0, 3.0], [5.0, 0.0, 0.0], [0.0, 2.0, 0.0]])).train()
    images = torch.zeros(3, 1, 2, 2)
    label = "".join(["la", "bel"])  # as read from a suite file: not an interned literal
    assert explained_targets(model, images, labels, label) is labels and model.modes == []
    predicted = explained_targets(model, images, labels, "".join(["pre", "dicted"]))  # not an interned literal
    assert predicted.tolist() == [2, 0, 1]
    assert model.modes == [False] and model.grad_enabled == [False] and model.training
    model.frozen = torch.nn.Dropout().eval()  # mixed modes come back module by module
    explained_targets(model, images, labels, "predicted")
    assert model.training and not model.frozen.training


@pytest.mark.parametrize("target", ["true", "Label", "a"])  # sorting after, between and before the names
def test_an_unknown_target_is_refused(target: str) -> None:
    with pytest.raises(ValueError, match=f"target must be one of label, predicted, got '{target}'"):
        explained_targets(torch.nn.Identity(), torch.zeros(1, 1, 2, 2), torch.tensor([0]), target)
