"""Warm start (``train.warm_start``): train a model first under other data or training settings, then on its own.

A curriculum in one key: under ``data.placement: anywhere`` (a planted motif straddling up to 4 patches) the tiny
models trained from scratch stay at chance, while the same model started from its ``placement: cell`` weights learns
it (docs/ground-truth.md). The source is the same kind and model config, trained from the configs the overrides give
(with no warm start of its own), and comes from the checkpoint cache like any model: a suite whose overrides restate
another suite's recipe starts from that suite's cached models.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ..config import DataConfig, TrainConfig, config_hash, options_dict, parse_override
from ..errors import UserError
from ..typed import from_dict

# what a warm start may not change: the dataset, its image size and location (the weights must fit the same model
# and the same kind of image), a second warm start, and the model section (the same weights' shapes)
FIXED = {"data": ("name", "img_size", "root", "eval_only", "options"), "train": ("warm_start",)}


KINDS = ("vit", "ia-vit")  # kinds whose weights share the backbone: an IA-ViT is a ViT and an interpreter
INTERPRETER = "interpreter."  # the state-dict prefix of the IA-ViT's own weights


@dataclass(frozen=True)
class WarmSource:
    """The model a warm start begins from: its kind (``kind=vit`` in ``train.warm_start``: a ViT's backbone for an
    IA-ViT, whose interpreter then starts fresh) and its data and train configs."""

    kind: str
    data: DataConfig
    train: TrainConfig


def _where(text: str) -> str:
    return f"train.warm_start entry '{text}'"


def _apply(data: DataConfig, train: TrainConfig, text: str) -> tuple[DataConfig, TrainConfig]:
    """One override of a section; a bad one is a UserError naming the entry and what is allowed."""
    path, value = parse_override(text)
    section = path[0]
    if section not in FIXED or len(path) != 2:
        raise UserError(f"{_where(text)}: give data.KEY=VALUE, train.KEY=VALUE or kind=vit (e.g. "
                        "data.placement=cell, train.epochs=3); the model section is the warmed model's own")
    key = path[1]
    if key in FIXED[section]:
        raise UserError(f"{_where(text)}: {section}.{key} cannot change in a warm start "
                        f"(fixed: {', '.join(f'{section}.{k}' for k in FIXED[section])})")
    if section == "train":
        return data, from_dict(TrainConfig, {key: value}, "train.warm_start: train", train)
    if key in {f.name for f in dataclasses.fields(DataConfig)}:
        return from_dict(DataConfig, {key: value}, "train.warm_start: data", data), train
    return dataclasses.replace(data, options={**options_dict(data.options), key: value}), train


def warm_source(kind: str, data: DataConfig, train: TrainConfig) -> WarmSource:
    """The model a warm start of a ``kind`` model begins from: ``train.warm_start``'s overrides applied to the warmed
    model's own configs, the source's own warm start empty. The data options are validated by the dataset."""
    if not train.warm_start:
        raise ValueError("warm_source of a config without train.warm_start")
    source_kind, source_data, source_train = kind, data, dataclasses.replace(train, warm_start=[])
    for text in train.warm_start:
        path, value = parse_override(text)
        if path == ["kind"]:
            if value not in KINDS:
                raise UserError(f"{_where(text)}: the source's kind is one of {', '.join(KINDS)}")
            source_kind = str(value)
        else:
            source_data, source_train = _apply(source_data, source_train, text)
    source_data = _parsed(source_data, "train.warm_start: ")  # the dataset checks the options (names, values)
    unchanged = config_hash(source_data, source_train) == config_hash(_parsed(data), dataclasses.replace(
        train, warm_start=[]))
    if unchanged and source_kind == kind:
        raise UserError(f"train.warm_start {train.warm_start} changes nothing: the model would start from itself; "
                        "give an override that differs (e.g. data.placement=cell)")
    return WarmSource(source_kind, source_data, source_train)


def load_warm(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a warm start's weights: all of them, or a ViT's into an IA-ViT (its interpreter left as initialised) or
    an IA-ViT's backbone into a ViT; any other mismatch is a bug, raised."""
    result = model.load_state_dict(state, strict=False)
    left = [k for k in (*result.missing_keys, *result.unexpected_keys) if not k.startswith(INTERPRETER)]
    if left:
        raise RuntimeError(f"warm-start weights do not fit the model: {left[:3]}")


def _parsed(data: DataConfig, where: str = "") -> DataConfig:
    """``data`` with its dataset's parsed options (every default spelled out, as a cache key holds them)."""
    from ..data import dataset_class

    parsed = dataset_class(data.name).Options.parse(options_dict(data.options), f"{where}dataset {data.name}")
    return dataclasses.replace(data, options=parsed)
