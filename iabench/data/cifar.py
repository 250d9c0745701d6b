"""CIFAR-10 and CIFAR-100 from their python pickles (local files, see ``torchvision_sets``); train -> train/val by
seed, test = the test batch."""

from __future__ import annotations

from collections.abc import Callable

from torchvision import datasets

from ..config import DataConfig
from ..contract import NoOptions
from . import DATASETS, DataBundle, DatasetPlugin
from .torchvision_sets import build_transform, bundle, open_dataset, root_of


class _CIFAR10(datasets.CIFAR10):
    train_list = [[name, None] for name, _ in datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR10.test_list]
    meta = {**datasets.CIFAR10.meta, "md5": None}


class _CIFAR100(datasets.CIFAR100):
    train_list = [[name, None] for name, _ in datasets.CIFAR100.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR100.test_list]
    meta = {**datasets.CIFAR100.meta, "md5": None}


def _cifar(cls: type[datasets.CIFAR10], name: str) -> Callable[[DataConfig], DataBundle]:
    def load(config: DataConfig) -> DataBundle:
        root = root_of(config, cls.base_folder)

        def open_(train_split: bool, augment: bool) -> datasets.CIFAR10:
            transform = build_transform(config, augment)
            return open_dataset(name, root, lambda: cls(str(root), train=train_split, transform=transform,
                                                        download=False))

        train_eval = open_(True, False)
        return bundle(config, open_(True, True), train_eval, open_(False, False), train_eval.classes, root)

    load.__doc__ = f"{name} from the python pickles; train -> train/val by seed, test = the test batch."
    return load


@DATASETS.register
class CIFAR10(DatasetPlugin):
    name = "cifar10"
    description = "CIFAR-10 (Krizhevsky 2009) from its python pickles: 50,000 + 10,000 32x32 colour images, 10 classes"
    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        return _cifar(_CIFAR10, "cifar10")(config)


@DATASETS.register
class CIFAR100(DatasetPlugin):
    name = "cifar100"
    description = "CIFAR-100 from its python pickles: 50,000 + 10,000 32x32 colour images, 100 classes"
    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        return _cifar(_CIFAR100, "cifar100")(config)
