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

import dataclasses
import inspect
import warnings
from typing import Any, ClassVar

import numpy as np
import quantus
import torch
from torch import nn

from iabench.contract import Context, ExplainFn, Options, option
from iabench.metrics._base import Metric, MetricResult
from iabench.metrics._checks import check_saliency, check_shapes
from iabench.seeding import numpy_seeded_by

if not hasattr(np, "trapz"):  # Quantus 0.6 (PixelFlipping, IROF, ...) calls np.trapz, removed in NumPy 2.4
    np.trapz = np.trapezoid  # type: ignore[attr-defined]


def numpy_explain_func(explain_fn: ExplainFn, device: torch.device):  # noqa: ANN201
    """Wrap our explain(model, images, targets) -> (B, H, W) tensor as Quantus' numpy explain_func."""

    def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, **quantus_kwargs: Any) -> np.ndarray:
        images = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=device)
        labels = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=device).reshape(-1)
        return explain_fn(model.to(device), images, labels).detach().cpu().numpy()[:, None].astype(np.float32)

    return explain


def quantus_inputs(ctx: Context) -> dict[str, Any]:
    """The keyword arguments of a Quantus metric call, converted once from our tensors."""
    images = ctx.images
    kwargs: dict[str, Any] = dict(
        model=ctx.model.eval(), x_batch=images.detach().cpu().numpy().astype(np.float32),
        y_batch=ctx.targets.detach().cpu().numpy().astype(np.int64), channel_first=True, device=str(images.device))
    if ctx.saliency is not None:
        kwargs["a_batch"] = ctx.saliency.detach().cpu().numpy()[:, None].astype(np.float32)
    if ctx.masks is not None:
        kwargs["s_batch"] = ctx.masks.detach().cpu().numpy()[:, None].astype(np.float32)
    if ctx.explainer is not None:
        kwargs["explain_func"] = numpy_explain_func(ctx.explainer.explain, images.device)
        kwargs["explain_func_kwargs"] = {}
    return kwargs


def row_features(images: torch.Tensor) -> int:
    """One image row's worth of Quantus features, W. On one-channel images that is W pixels, as our
    deletion's default step. Quantus broadcasts a (B, 1, H, W) attribution over C channels and flips
    channel values (C*H*W features) but requires the step to divide H*W, so on C-channel images a step
    of W features is W channel values: C*H steps per curve."""
    return int(images.shape[-1])


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


class _QuantusDefault:
    """The default of a Quantus option: whatever Quantus itself (or the metric's ``defaults``) sets."""

    def __repr__(self) -> str:
        return "Quantus' default"


QUANTUS_DEFAULT: Any = _QuantusDefault()


@dataclasses.dataclass(frozen=True)
class QuantusOptions(Options):
    max_batch: int | None = option(None, "accepted for every metric alike; Quantus batches on its own")

    def given(self) -> dict[str, Any]:
        """The Quantus constructor keywords set by the suite (``max_batch`` is ours, not Quantus')."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "max_batch" and getattr(self, f.name) is not QUANTUS_DEFAULT}


def quantus_options(quantus_class: str) -> type[QuantusOptions]:
    """The options of a Quantus-backed metric: one field per keyword of the Quantus class's constructor (typed by
    Quantus when it runs; its default Quantus' own or the metric's ``defaults``)."""
    names = [n for n in inspect.signature(getattr(quantus, quantus_class).__init__).parameters if n != "self"]
    fields = [(n, Any, option(QUANTUS_DEFAULT, f"quantus.{quantus_class}'s {n}")) for n in names]
    return dataclasses.make_dataclass(f"{quantus_class}Options", fields, bases=(QuantusOptions,), frozen=True)


class QuantusMetric(Metric):
    """A metric computed by the Quantus class ``quantus_class`` with ``defaults`` as constructor keywords
    (the suite's ``options`` override them)."""

    quantus_class: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    output: ClassVar[str] = "scores"  # scores | curve-mean | last-layer
    per_image_calls: ClassVar[bool] = False  # metrics that only return batch aggregates are called per image
    single_channel_only: ClassVar[str] = ""  # why, for Quantus metrics that fail on C > 1 channels
    # A constant map ranks nothing: Quantus then gives arbitrary numbers (pointing game 1.0), NaN or crashes
    # (MonotonicityCorrelation; an all-zero batch trips an assertion). So such samples score NaN (with a warning)
    # and the others are scored without them. Metrics where a constant map has a defined value (Gini 0, entropy
    # log(H*W)) set this False and keep Quantus' value (all-zero: NaN).
    constant_is_nan: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.quantus_class:  # Quantus is built at call time: its options are checked when the suite is read
            cls.Options = quantus_options(cls.quantus_class)

    def call_defaults(self, model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
        """Constructor defaults that depend on the inputs (a step of one image row); the suite's options win."""
        return {}

    def build(self, model: nn.Module | None = None, images: torch.Tensor | None = None) -> Any:
        """The configured Quantus metric: ``defaults``, then the input-dependent defaults, then the options."""
        adaptive = self.call_defaults(model, images) if model is not None and images is not None else {}
        return getattr(quantus, self.quantus_class)(**{**self.defaults, **adaptive, **self.options.given(),
                                                       "disable_warnings": True, "display_progressbar": False})

    def score(self, ctx: Context) -> MetricResult:
        saliency, images = ctx.saliency, ctx.images
        if self.needs.saliency:
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
                    scores[keep.cpu().numpy()] = self.score(ctx.take(keep)).scores
                return MetricResult(scores)
        if self.needs.masks and ctx.masks is None:
            raise ValueError(f"{self.name} needs ground-truth masks")
        if self.needs.explain_fn and ctx.explainer is None:
            raise ValueError(f"{self.name} needs an explain function")
        if self.single_channel_only and images.shape[1] != 1:
            raise ValueError(f"{self.name} runs on one-channel images only: {self.single_channel_only}")
        was_training = ctx.model.training
        try:
            if self.per_image_calls:
                return MetricResult(np.asarray([self._score_one(ctx.take(slice(i, i + 1)))
                                                for i in range(images.shape[0])], dtype=float))
            padded = saliency is not None and refused_by_quantus(saliency)
            if padded:  # one extra map that passes the batch checks lets every map be scored as in any mixed
                # batch (Quantus scores each sample on its own); the extra sample's score is dropped
                extra = torch.linspace(0.0, 1.0, saliency[0].numel(), dtype=saliency.dtype).reshape(saliency[:1].shape)
                ctx = dataclasses.replace(ctx, images=torch.cat([images, images[:1]]),
                                          targets=torch.cat([ctx.targets, ctx.targets[:1]]),
                                          saliency=torch.cat([saliency, extra.to(saliency.device)]),
                                          masks=None if ctx.masks is None else torch.cat([ctx.masks, ctx.masks[:1]]))
            with numpy_seeded_by(ctx.images, ctx.targets):  # Quantus' own draws, reproducible
                output = self.build(ctx.model, ctx.images)(**quantus_inputs(ctx))
            scores = per_sample(output, self.output)
            return MetricResult(scores[:-1] if padded else scores)
        finally:
            ctx.model.train(was_training)

    def _score_one(self, ctx: Context) -> float:
        if ctx.saliency is not None and refused_by_quantus(ctx.saliency):  # alone: the score is a batch aggregate
            warnings.warn(f"{self.name}: Quantus refuses a map with no positive value; its score is NaN",
                          RuntimeWarning, stacklevel=3)
            return float("nan")
        with numpy_seeded_by(ctx.images, ctx.targets):
            output = self.build(ctx.model, ctx.images)(**quantus_inputs(ctx))
        return float(np.mean(list(output.values())) if isinstance(output, dict) else np.mean(output))
