"""CIFAR-10 and CIFAR-100 from their python pickles (local files, see ``torchvision_sets``); train -> train/val by
seed, test = the test batch."""

from __future__ import annotations

from typing import ClassVar

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


class _Cifar(DatasetPlugin):
    """What both CIFAR sets share: their loader; each names its torchvision class (``files``, MD5 checks relaxed)."""

    files: ClassVar[type[datasets.CIFAR10]]

    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        root = root_of(config, cls.files.base_folder)

        def open_(train_split: bool, augment: bool) -> datasets.CIFAR10:
            transform = build_transform(config, augment)
            return open_dataset(cls.name, root, lambda: cls.files(str(root), train=train_split, transform=transform,
                                                                  download=False))

        train_eval = open_(True, False)
        return bundle(config, open_(True, True), train_eval, open_(False, False), train_eval.classes, root)


@DATASETS.register
class CIFAR10(_Cifar):
    name = "cifar10"
    description = "CIFAR-10 (Krizhevsky 2009) from its python pickles: 50,000 + 10,000 32x32 colour images, 10 classes"
    files = _CIFAR10


@DATASETS.register
class CIFAR100(_Cifar):
    name = "cifar100"
    description = "CIFAR-100 from its python pickles: 50,000 + 10,000 32x32 colour images, 100 classes"
    files = _CIFAR100
