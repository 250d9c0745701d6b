"""Accuracy: per-sample top-1 correctness of the predictor against the true labels (the runner passes
the labels as targets for model-level metrics). Higher is better."""

from __future__ import annotations

import torch

from iabench.contract import Context, Needs
from iabench.metrics._base import METRICS, Metric, MetricResult


@METRICS.register
class Accuracy(Metric):
    __doc__ = __doc__
    name = "accuracy"
    display_name = "Accuracy"
    direction = "higher"
    description = "top-1 correctness of the model's predictor against the true labels"
    family = "model"
    reference = "standard top-1 accuracy, reported per model beside the explanations as in Qiang et al. 2023"
    needs = Needs()  # model-level: no map

    @torch.inference_mode()
    def score(self, ctx: Context) -> MetricResult:
        model, images, targets = ctx.model, ctx.images, ctx.targets
        was_training = model.training
        model.eval()
        try:
            correct = (model(images).argmax(1) == targets.to(images.device)).double()
        finally:
            model.train(was_training)
        return MetricResult(correct.cpu().numpy())
