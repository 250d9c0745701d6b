"""The Python API for a notebook: ``iabench.explain`` and ``iabench.evaluate`` on a model you already have.

``evaluate`` runs the explain and score stages of the main job (``iabench.pipeline``) on your model and data
in memory: no training, no files, no cache; the rows are results.csv's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .data import evidence_mask
from .errors import UserError
from .pipeline.explain import Explanations, FailureLog
from .pipeline.plan import WorkItem, applies, explainer_classes
from .pipeline.samples import Samples, draw_samples
from .pipeline.score import Scorer, Subject
from .store import RESULT_COLUMNS

DEFAULT_EXPLAINERS = ("attention", "rollout", "integrated-gradients", "random")
DEFAULT_METRICS = ("insertion", "deletion", "accuracy")
OPTIONS = {"target": "label", "batch_size": 50, "seed": 0, "name": "model", "device": None}


def explain(model: nn.Module, images: torch.Tensor, explainer: str, target: torch.Tensor | int | None = None,
            **options: Any) -> torch.Tensor:
    """Saliency maps (B, H, W), float32, of registered explainer ``explainer`` (see ``iabench list``) for
    ``images`` (B, C, H, W) in the model's input space; ``target`` None = the predicted class. ``model``: a timm,
    Hugging Face transformers or torchvision ViT (or any classifier, for the methods that need no attention)."""
    from .baselines import create_explainer

    check_images(model, images)
    if isinstance(target, int):
        target = torch.full((images.shape[0],), target, dtype=torch.long)
    return create_explainer(explainer, model, **options).attribute(images, target)


def check_images(model: nn.Module, images: torch.Tensor) -> None:
    """Images a ViT cannot take are one line saying what it takes, not a torch error from inside its forward (a
    classifier the seam does not read is left to its own forward)."""
    from .models import seam_of
    from .models.seam import UnsupportedModel

    try:
        seam = seam_of(model)
    except UnsupportedModel:
        return
    channels, sides = seam.patch_proj.in_channels, [seam.grid[i] * seam.patch_size[i] for i in (0, 1)]
    if seam.kind == "feature-map" and images.ndim == 4 and images.shape[1] == channels:
        seam.grid_for(tuple(images.shape[-2:]))  # a CNN takes any multiple of its output stride, a Swin its own size
        return
    if images.ndim != 4 or tuple(images.shape[1:]) != (channels, *sides):
        grey = " (grey images: images.repeat(1, 3, 1, 1), then the model's normalisation)" if (
            images.ndim == 4 and images.shape[1] == 1 and channels == 3) else ""
        size = f"H, W multiples of {seam.patch_size[0]}" if seam.kind == "feature-map" else f"{sides[0]}, {sides[1]}"
        raise UserError(f"images of shape {tuple(images.shape)}, but the model takes (B, {channels}, {size}): "
                        f"resize them (torch.nn.functional.interpolate){grey}")


def load_model(model: str, checkpoint: str | Path = "", num_heads: int | None = None,
               img_size: int = 224) -> nn.Module:
    """The model ``--model`` and ``--checkpoint`` name (a timm ARCH with its state dict, ``ia-vit:ARCH``, ``hf:DIR``,
    ``torchvision[:HEADS]`` with its state dict, a timm ResNet, ConvNeXt or Swin ARCH with its state dict), in eval
    mode; ``num_heads`` as ``--set model.num_heads`` (needed where the weights do not show the heads, e.g. a timm
    checkpoint narrower than ARCH); ``img_size`` the images' size for a ResNet, ConvNeXt or Swin (a ViT's comes
    from its position table)."""
    import dataclasses

    from .models.families import parse_model
    from .pipeline.given import load_given

    given = parse_model(model, checkpoint).with_heads(num_heads)
    return load_given(dataclasses.replace(given, img_size=img_size) if given.kind == "feature-map" else given)[0]


class _Rows:
    """A results store in memory (the scorer's ``missing`` and ``add``)."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def missing(self, keys: Iterable[tuple]) -> list[tuple]:
        return list(keys)

    def add(self, seed: int, model: str, explainer: str, metric: str, samples: Sequence[int],
            values: Sequence[float], curve_x: object = None, curves: object = None) -> None:
        self.rows += [("api", seed, model, explainer, metric, int(s), float(v)) for s, v in zip(samples, values)]


def _samples(data: Dataset | DataLoader | tuple, count: int | None, seed: int) -> Samples:
    """The first ``count`` items of a loader or of an (images, labels[, masks]) tuple, or ``count`` items of a
    dataset drawn from ``seed`` (in index order, as the main job draws them); ``count`` None = all."""
    if isinstance(data, tuple):
        images, labels, masks = (*data, None)[:3]
        indices = list(range(len(images)))[:count]
        return Samples(indices, images[indices], torch.as_tensor(labels)[indices],
                       None if masks is None else torch.as_tensor(masks)[indices].bool())
    if isinstance(data, DataLoader):
        items: list = []
        for batch in data:  # only as many batches as needed
            if len(batch) > 2 and isinstance(batch[2], dict):  # masks by name: keep the evidence mask
                batch = (*batch[:2], next(iter(batch[2].values())))
            items += list(zip(*batch))
            if count is not None and len(items) >= count:
                break
        items = items[:count]
    else:
        return draw_samples(data, len(data) if count is None else count, seed, "the data")  # the main job's draw
    if not items:
        raise UserError("the data holds no images; give a Dataset, a DataLoader or an (images, labels) tuple")
    masks = torch.stack([evidence_mask(i) for i in items]).bool() if len(items[0]) > 2 else None
    return Samples(list(range(len(items))), torch.stack([i[0] for i in items]),
                   torch.tensor([int(i[1]) for i in items]), masks)


def evaluate(model: nn.Module, data: Dataset | DataLoader | tuple, explainers: Sequence[Any] = DEFAULT_EXPLAINERS,
             metrics: Sequence[Any] = DEFAULT_METRICS, samples: int | None = 100, **options: Any) -> pd.DataFrame:
    """Explain ``samples`` images of ``data`` with each explainer and score every explanation with each metric.

    ``explainers`` and ``metrics`` are registered names (``deletion[blur]`` names a substrate) or
    ``{name, label, options}`` mappings, as in a suite. Options: ``target`` ("label" or "predicted"),
    ``batch_size``, ``seed`` (the sample draw), ``name`` (the model column), ``device``. Returns one row per
    (explainer, metric, sample) with results.csv's columns; explainers and metrics that need an IA-ViT are
    skipped for other models, and a failed explanation scores NaN.
    """
    from .baselines import EXPLAINERS, not_on_feature_maps
    from .device import resolve_device
    from .metrics import METRICS
    from .models import IAViT, explainable, is_feature_map
    from .suites.methods import method_specs

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UserError(f"evaluate() has no option {', '.join(unknown)}; options: {', '.join(OPTIONS)}")
    opts = {**OPTIONS, **options}
    device = resolve_device(opts["device"] or "auto")
    explainer_specs = method_specs(list(explainers), "explainer", EXPLAINERS.names())
    metric_specs = method_specs(list(metrics), "metric", METRICS.names())
    classes = explainer_classes(explainer_specs)
    scorers = {s.label: METRICS.create(s.name, **s.options) for s in metric_specs}
    kind = "ia-vit" if isinstance(model, IAViT) else "feature-map" if is_feature_map(model) else "vit"
    unfit = [label for label, cls in classes.items() if kind == "feature-map" and not applies(cls, kind)]
    if unfit:  # asked for by name: refused, not skipped
        raise not_on_feature_maps(unfit, f"a {type(model).__name__}", EXPLAINERS)
    model = explainable(model)  # metrics call it too: a module returning logits
    picked = _samples(data, samples, opts["seed"])
    check_images(model, picked.images)
    if any(m.needs.masks for m in scorers.values()) and picked.masks is None:
        raise UserError("a localisation metric needs masks: give items (image, label, mask)")
    rows = _Rows()
    explanations = Explanations(explainer_specs, classes, opts["target"], None, FailureLog(None))
    scorer = Scorer(scorers, explanations, rows, picked, device, opts["target"], opts["batch_size"], specs=metric_specs)
    subject = Subject(model.to(device).eval(), kind, "")
    name = opts["name"]
    for label in [None, *classes]:
        if label is None or applies(classes[label], kind):
            scorer(WorkItem(opts["seed"], name, label), subject)
    frame = pd.DataFrame(rows.rows, columns=RESULT_COLUMNS)
    frame["value"] = frame["value"].astype(np.float64)
    return frame
