"""The one place where our tensors meet Quantus (Hedström et al. 2023, JMLR, "Quantus: An Explainable AI
Toolkit for Responsible Evaluation of Neural Network Explanations").

Quantus takes numpy arrays: images (B, C, H, W) with ``channel_first=True``, integer labels (B,),
attributions (B, 1, H, W) (ours are (B, H, W): one channel, which Quantus broadcasts over the image's
channels), masks (B, 1, H, W) for localisation, and an ``explain_func(model, inputs, targets, **kwargs)``
returning numpy attributions for the metrics that re-explain (MaxSensitivity, RandomLogit, MPRT). Quantus
0.6's ROAD and IROF fail on C > 1 channels with a one-channel attribution (and with one repeated over the
channels): those two refuse multi-channel images with a clear error. Constant maps score NaN (see
``QuantusMetric.constant_is_nan``); misspelt options are refused when the metric is created. Every
Quantus-backed metric subclasses ``QuantusMetric`` and only names its Quantus class, its constructor
defaults (Quantus' own unless a reason is given) and how its output becomes one score per sample.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, ClassVar

import numpy as np
import quantus
import torch
from torch import nn

from iabench.errors import closest
from iabench.metrics import ExplainFn, Metric, MetricResult
from iabench.metrics._perturbation import MetricOptionError, check_saliency, check_shapes

if not hasattr(np, "trapz"):  # Quantus 0.6 (PixelFlipping, IROF, ...) calls np.trapz, removed in NumPy 2.4
    np.trapz = np.trapezoid  # type: ignore[attr-defined]


def numpy_explain_func(explain_fn: ExplainFn, device: torch.device):  # noqa: ANN201
    """Wrap our explain(model, images, targets) -> (B, H, W) tensor as Quantus' numpy explain_func."""

    def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, **_: Any) -> np.ndarray:
        images = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=device)
        labels = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=device).reshape(-1)
        return explain_fn(model.to(device), images, labels).detach().cpu().numpy()[:, None].astype(np.float32)

    return explain


def quantus_inputs(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, saliency: torch.Tensor | None,
                   masks: torch.Tensor | None, explain_fn: ExplainFn | None) -> dict[str, Any]:
    """The keyword arguments of a Quantus metric call, converted once from our tensors."""
    kwargs: dict[str, Any] = dict(
        model=model.eval(), x_batch=images.detach().cpu().numpy().astype(np.float32),
        y_batch=targets.detach().cpu().numpy().astype(np.int64), channel_first=True, device=str(images.device))
    if saliency is not None:
        kwargs["a_batch"] = saliency.detach().cpu().numpy()[:, None].astype(np.float32)
    if masks is not None:
        kwargs["s_batch"] = masks.detach().cpu().numpy()[:, None].astype(np.float32)
    if explain_fn is not None:
        kwargs["explain_func"] = numpy_explain_func(explain_fn, images.device)
        kwargs["explain_func_kwargs"] = {}
    return kwargs


def row_features(images: torch.Tensor) -> int:
    """One image row's worth of Quantus features, W. On one-channel images that is W pixels, as our
    deletion's default step. Quantus broadcasts a (B, 1, H, W) attribution over C channels and flips
    channel values (C*H*W features) but requires the step to divide H*W, so on C-channel images a step
    of W features is W channel values: C*H steps per curve."""
    return int(images.shape[-1])


def model_patch_size(model: nn.Module, default: int) -> int:
    """The ViT's patch size (for region-based Quantus metrics); ``default`` for models that are not ViTs."""
    from iabench.models import vit_backbone

    try:
        return int(vit_backbone(model).patch_embed.patch_size[0])
    except (AttributeError, TypeError, ValueError):
        return default


def refused_by_quantus(saliency: torch.Tensor) -> bool:
    """Quantus checks a batch of maps as a whole (``assert_attributions``): it refuses one whose values are
    all negative or that holds fewer than two distinct values, although it scores such a map in a batch
    with others."""
    return bool((saliency < 0).all()) or saliency.unique().numel() < 2


def per_sample(output: Any, how: str) -> np.ndarray:
    """Quantus' output -> one float per sample: a list of scores as is, curves by their mean, or the
    last layer of MPRT's per-layer dictionary."""
    if how == "curve-mean":
        return np.asarray([np.mean(curve) for curve in output], dtype=float)
    if how == "last-layer" and isinstance(output, dict):
        return np.asarray(list(output.values())[-1], dtype=float)
    return np.asarray(output, dtype=float).reshape(-1)


class QuantusMetric(Metric):
    """A metric computed by the Quantus class ``quantus_class`` with ``defaults`` as constructor keywords
    (the suite's ``options`` override them)."""

    quantus_class: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    output: ClassVar[str] = "scores"  # scores | curve-mean | last-layer
    per_image_calls: ClassVar[bool] = False  # metrics that only return batch aggregates are called per image
    single_channel_only: ClassVar[str] = ""  # why, for Quantus metrics that fail on C > 1 channels
    # A constant map ranks nothing: Quantus then gives arbitrary numbers (pointing game 1.0), NaN or
    # crashes (MonotonicityCorrelation; an all-zero batch trips an assertion). So such samples score NaN
    # (with a warning) and the others are scored without them. Metrics where a constant map has a
    # defined value (Gini 0, entropy log(H*W)) set this False and keep Quantus' value (all-zero: NaN).
    constant_is_nan: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        # Quantus is built at call time: refuse a misspelt option now, when the suite is read
        accepted = set(inspect.signature(getattr(quantus, self.quantus_class).__init__).parameters) - {"self"}
        for key in sorted(set(options) - accepted - {"max_batch"}):
            raise MetricOptionError(f"metric {self.name}: quantus.{self.quantus_class} has no option '{key}'"
                                    f"{closest(key, accepted)}")
        super().__init__(**options)

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        """Constructor defaults that depend on the inputs (e.g. a step of one image row); the suite's
        options still override them."""
        return {}

    def build(self, model: nn.Module | None = None, images: torch.Tensor | None = None) -> Any:
        """The configured Quantus metric: ``defaults``, then the input-dependent defaults, then the options."""
        options = {k: v for k, v in self.options.items() if k != "max_batch"}
        adaptive = self.call_defaults(model, images) if model is not None and images is not None else {}
        return getattr(quantus, self.quantus_class)(**{**self.defaults, **adaptive, **options,
                                                       "disable_warnings": True, "display_progressbar": False})

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, *, masks: torch.Tensor | None = None,
                 explain_fn: ExplainFn | None = None) -> MetricResult:
        if self.needs_saliency:
            if saliency is None:
                raise ValueError(f"{self.name} needs saliency maps")
            check_shapes(images, saliency, self.name)
            constant = check_saliency(saliency, self.name, "its score is NaN" if self.constant_is_nan else
                                      "Quantus' value for a constant map is kept; an all-zero map scores NaN")
            skip = constant if self.constant_is_nan else (saliency.flatten(1) == 0).all(1)
            if bool(skip.any()):
                keep = (~skip).nonzero().flatten()
                scores = np.full(images.shape[0], np.nan)
                if len(keep):
                    scores[keep.cpu().numpy()] = self(
                        model, images[keep], targets[keep], saliency[keep],
                        masks=None if masks is None else masks[keep], explain_fn=explain_fn).scores
                return MetricResult(scores)
        if self.needs_masks and masks is None:
            raise ValueError(f"{self.name} needs ground-truth masks")
        if self.needs_explain_fn and explain_fn is None:
            raise ValueError(f"{self.name} needs an explain function")
        if self.single_channel_only and images.shape[1] != 1:
            raise ValueError(f"{self.name} runs on one-channel images only: {self.single_channel_only}")
        was_training = model.training
        try:
            if self.per_image_calls:
                scores = [self._score_one(model, images[i:i + 1], targets[i:i + 1],
                                          None if saliency is None else saliency[i:i + 1],
                                          None if masks is None else masks[i:i + 1], explain_fn)
                          for i in range(images.shape[0])]
                return MetricResult(np.asarray(scores, dtype=float))
            padded = saliency is not None and refused_by_quantus(saliency)
            if padded:  # one extra map that passes the batch checks lets every map be scored as in any mixed
                # batch (Quantus scores each sample on its own); the extra sample's score is dropped
                extra = torch.linspace(0.0, 1.0, saliency[0].numel(), dtype=saliency.dtype).reshape(saliency[:1].shape)
                images, targets = torch.cat([images, images[:1]]), torch.cat([targets, targets[:1]])
                saliency = torch.cat([saliency, extra.to(saliency.device)])
                masks = None if masks is None else torch.cat([masks, masks[:1]])
            output = self.build(model, images)(**quantus_inputs(model, images, targets, saliency, masks, explain_fn))
            scores = per_sample(output, self.output)
            return MetricResult(scores[:-1] if padded else scores)
        finally:
            model.train(was_training)

    def _score_one(self, model: nn.Module, image: torch.Tensor, target: torch.Tensor, saliency: torch.Tensor | None,
                   masks: torch.Tensor | None, explain_fn: ExplainFn | None) -> float:
        if saliency is not None and refused_by_quantus(saliency):  # alone, and the score is a batch aggregate
            warnings.warn(f"{self.name}: Quantus refuses a map with no positive value; its score is NaN",
                          RuntimeWarning, stacklevel=3)
            return float("nan")
        output = self.build(model, image)(**quantus_inputs(model, image, target, saliency, masks, explain_fn))
        return float(np.mean(list(output.values())) if isinstance(output, dict) else np.mean(output))
