"""Datasets: one-file plugins under one contract, as explainers and metrics are (``DatasetPlugin``).

A dataset declares its ``name``, its typed, frozen ``Options`` (validated like every plugin's: an unknown option names
the closest one, a value out of range is one line) and the ``masks`` its items carry, by name; ``load(config,
options)`` returns a ``DataBundle`` with deterministic splits. The options live flat in a suite's ``data:`` section
beside the common keys (``data: {name: cluttered-fashion-mnist, canvas: 56}``) and in ``DataConfig.options``.

Every loader reads local files only (``DataConfig.root``, then the dataset's default places); a dataset that cannot
be found is one ``UserError`` line saying how to get it. Items are ``(image, label)`` with the image normalised
(C, H, W) float32, or ``(image, label, masks)`` with ``masks`` a dict of bool (H, W) tensors named as the dataset
declares; the first declared mask is the one localisation metrics score against. A dataset that plants evidence
also declares its ``ground_truth`` (``iabench.data.ground_truth``: its reliance checks and model contrast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset, Subset

from ..config import DataConfig, options_dict
from ..contract import NoOptions, Options
from ..contract.options import options_class_problems
from ..registry import Registry
from .ground_truth import GroundTruth


@dataclass
class DataBundle:
    """A dataset's three splits and what models and metrics need to know about it."""

    name: str
    train: Dataset
    val: Dataset
    test: Dataset
    num_classes: int
    in_chans: int
    img_size: int
    mean: list[float]  # the normalisation actually applied (recorded in the run manifest)
    std: list[float]
    class_names: list[str] = field(default_factory=list)
    masks: tuple[str, ...] = ()  # the masks each item carries, by name (the first: what localisation scores)
    source: str = ""  # where the files were read from

    @property
    def has_masks(self) -> bool:
        return bool(self.masks)


class DatasetPlugin:
    """The contract of a dataset: ``name``, ``description``, ``Options``, ``masks`` and ``load``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[Options]] = NoOptions
    masks: ClassVar[tuple[str, ...]] = ()  # names of the masks its items carry; the first is the evidence mask
    ground_truth: ClassVar[GroundTruth | None] = None  # planted evidence: its reliance checks and model contrast
    in_chans: ClassVar[int] = 3  # the channels of its images (``channels`` when an option decides them)

    @classmethod
    def channels(cls, options: Any) -> int:
        """The channels of the images ``load`` gives with these options, known before loading (a given model's
        channels are fitted to them, or refused, before the data is read)."""
        return cls.in_chans

    @classmethod
    def load(cls, config: DataConfig, options: Any) -> DataBundle:
        raise NotImplementedError


def check_dataset(cls: Any) -> None:
    """What the registry refuses at import: a dataset class that breaks the contract."""
    problems = options_class_problems(getattr(cls, "Options", None))
    if not (isinstance(cls, type) and issubclass(cls, DatasetPlugin)):
        problems.append("it must subclass iabench.data.DatasetPlugin")
    masks = getattr(cls, "masks", None)
    if not isinstance(masks, tuple) or not all(isinstance(m, str) and m for m in masks):
        problems.append("its masks must be a tuple of names")
    if not getattr(cls, "description", ""):
        problems.append("it declares no description")
    if not isinstance(getattr(cls, "ground_truth", None), GroundTruth | None):
        problems.append("its ground_truth must be a GroundTruth (iabench.data.ground_truth) or None")
    if problems:
        raise ValueError(f"dataset {getattr(cls, 'name', cls)!r}: " + "; ".join(problems))


DATASETS: Registry[DatasetPlugin] = Registry("dataset", check_dataset, package=__name__)


def dataset_class(name: str) -> type[DatasetPlugin]:
    return DATASETS.get(name)  # type: ignore[return-value]


def dataset_options(config: DataConfig) -> Options:
    """The validated options of ``config``'s dataset: as the suite parsed them, or parsed now from a mapping (a
    config built by hand)."""
    cls = dataset_class(config.name)
    if isinstance(config.options, cls.Options):
        return config.options
    return cls.Options.parse(options_dict(config.options), f"dataset {config.name}")


def load_dataset(config: DataConfig) -> DataBundle:
    """Load the dataset named by ``config.name`` (see ``DATASETS.names()``) with its options."""
    cls = dataset_class(config.name)
    options = dataset_options(config)
    bundle = cls.load(config, options)
    if bundle.masks != cls.masks:  # the declaration is what the pipeline plans with: keep the two equal
        raise ValueError(f"dataset {cls.name} declares masks {cls.masks} but its bundle carries {bundle.masks}")
    if bundle.in_chans != cls.channels(options):
        raise ValueError(f"dataset {cls.name} declares {cls.channels(options)} channels but its bundle has "
                         f"{bundle.in_chans}")
    return bundle


def evidence_mask(item: tuple[Any, ...]) -> torch.Tensor | None:
    """The mask localisation scores against: an item's first named mask, or a bare third element (a user's own
    (image, label, mask) dataset); None without one."""
    if len(item) < 3:
        return None
    masks = item[2]
    return torch.as_tensor(next(iter(masks.values())) if isinstance(masks, dict) else masks)


def split_train_val(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Subset, Subset]:
    """A deterministic train/val split of ``dataset`` from ``seed`` (the same seed, the same split)."""
    n = len(dataset)  # type: ignore[arg-type]
    n_val = int(round(n * val_fraction))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, sorted(order[n_val:])), Subset(dataset, sorted(order[:n_val]))


DATASETS.discover()  # each module of this package registers its dataset

__all__ = ["DATASETS", "DataBundle", "DatasetPlugin", "check_dataset", "dataset_class", "dataset_options",
           "evidence_mask", "load_dataset", "split_train_val"]
