"""Accuracy: per-sample top-1 correctness of the predictor against the true labels (the runner passes
the labels as targets for model-level metrics). Higher is better."""

from __future__ import annotations

import torch
from torch import nn

from iabench.metrics import METRICS, Metric, MetricResult


@METRICS.register("accuracy")
class Accuracy(Metric):
    __doc__ = __doc__
    name = "accuracy"
    display_name = "Accuracy"
    direction = "higher"
    description = "top-1 correctness of the model's predictor against the true labels"
    family = "model"
    reference = "standard top-1 accuracy, reported per model beside the explanations as in Qiang et al. 2023"
    needs_saliency = False

    @torch.inference_mode()
    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, **_: object) -> MetricResult:
        was_training = model.training
        model.eval()
        try:
            correct = (model(images).argmax(1) == targets.to(images.device)).double()
        finally:
            model.train(was_training)
        return MetricResult(correct.cpu().numpy())
