"""Datasets: a name -> loader registry returning a ``DataBundle`` with deterministic splits.

Every loader reads local files only (``DataConfig.root``, then the dataset's default places); a
dataset that cannot be found is one ``UserError`` line saying how to get it. Items are
``(image, label)`` with the image normalised (C, H, W) float32, or ``(image, label, mask)`` for
datasets with ground-truth explanation masks (``DataBundle.has_masks``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset, Subset

from ..config import DataConfig
from ..registry import Registry


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
    has_masks: bool = False
    source: str = ""  # where the files were read from

    def describe(self) -> dict[str, object]:
        return dict(name=self.name, num_classes=self.num_classes, in_chans=self.in_chans,
                    img_size=self.img_size, mean=self.mean, std=self.std, source=self.source,
                    sizes=dict(train=len(self.train), val=len(self.val), test=len(self.test)))


DATASETS: Registry[DataBundle] = Registry("dataset")


def load_dataset(config: DataConfig) -> DataBundle:
    """Load the dataset named by ``config.name`` (see ``DATASETS.names()``)."""
    loader: Callable[[DataConfig], DataBundle] = DATASETS.get(config.name)
    return loader(config)


def split_train_val(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Subset, Subset]:
    """A deterministic train/val split of ``dataset`` from ``seed`` (the same seed, the same split)."""
    n = len(dataset)  # type: ignore[arg-type]
    n_val = int(round(n * val_fraction))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, sorted(order[n_val:])), Subset(dataset, sorted(order[:n_val]))


def _import_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["DATASETS", "DataBundle", "load_dataset", "split_train_val"]
