"""Warm start (``train.warm_start``): train a model first under other data or training settings, then on its own.

A curriculum in one key: under ``data.placement: anywhere`` (a planted motif straddling up to 4 patches) the tiny
models trained from scratch stay at chance, while the same model started from its ``placement: cell`` weights learns
it (docs/ground-truth.md). The source is the same kind and model config, trained from the configs the overrides give
(with no warm start of its own), and comes from the checkpoint cache like any model: a suite whose overrides restate
another suite's recipe starts from that suite's cached models.
"""

from __future__ import annotations

import dataclasses

from ..config import DataConfig, TrainConfig, config_hash, options_dict, parse_override
from ..errors import UserError
from ..typed import from_dict

# what a warm start may not change: the dataset, its image size and location (the weights must fit the same model
# and the same kind of image), a second warm start, and the model section (the same weights' shapes)
FIXED = {"data": ("name", "img_size", "root", "eval_only", "options"), "train": ("warm_start",)}


def _where(text: str) -> str:
    return f"train.warm_start entry '{text}'"


def _apply(data: DataConfig, train: TrainConfig, text: str) -> tuple[DataConfig, TrainConfig]:
    """One override; a bad one is a UserError naming the entry and what is allowed."""
    path, value = parse_override(text)
    section = path[0]
    if section not in FIXED or len(path) != 2:
        raise UserError(f"{_where(text)}: give data.KEY=VALUE or train.KEY=VALUE (e.g. data.placement=cell, "
                        "train.epochs=3); the model section is the warmed model's own")
    key = path[1]
    if key in FIXED[section]:
        raise UserError(f"{_where(text)}: {section}.{key} cannot change in a warm start "
                        f"(fixed: {', '.join(f'{section}.{k}' for k in FIXED[section])})")
    if section == "train":
        return data, from_dict(TrainConfig, {key: value}, "train.warm_start: train", train)
    if key in {f.name for f in dataclasses.fields(DataConfig)}:
        return from_dict(DataConfig, {key: value}, "train.warm_start: data", data), train
    return dataclasses.replace(data, options={**options_dict(data.options), key: value}), train


def warm_source(data: DataConfig, train: TrainConfig) -> tuple[DataConfig, TrainConfig]:
    """The (data, train) configs of the model a warm start begins from: ``train.warm_start``'s overrides applied to
    the warmed model's own, the source's own warm start empty. The data options are validated by the dataset."""
    if not train.warm_start:
        raise ValueError("warm_source of a config without train.warm_start")
    source_data, source_train = data, dataclasses.replace(train, warm_start=[])
    for text in train.warm_start:
        source_data, source_train = _apply(source_data, source_train, text)
    source_data = _parsed(source_data, "train.warm_start: ")  # the dataset checks the options (names, values)
    if config_hash(source_data, source_train) == config_hash(_parsed(data), dataclasses.replace(train, warm_start=[])):
        raise UserError(f"train.warm_start {train.warm_start} changes nothing: the model would start from itself; "
                        "give an override that differs (e.g. data.placement=cell)")
    return source_data, source_train


def _parsed(data: DataConfig, where: str = "") -> DataConfig:
    """``data`` with its dataset's parsed options (every default spelled out, as a cache key holds them)."""
    from ..data import dataset_class

    parsed = dataset_class(data.name).Options.parse(options_dict(data.options), f"{where}dataset {data.name}")
    return dataclasses.replace(data, options=parsed)
