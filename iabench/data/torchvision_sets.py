"""CIFAR-10/100, STL-10, CelebA and ImageFolder through torchvision's own dataset classes, from local files.

Nothing is downloaded (``download=False``): the files must be under ``DataConfig.root`` (``--data-root``),
or ``$IABENCH_DATA/<name>`` (default ``~/.cache/iabench/data/<name>``), in torchvision's layout:

- cifar10: ``ROOT/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``
- cifar100: ``ROOT/cifar-100-python/{train, test, meta}``
- stl10: ``ROOT/stl10_binary/{train_X.bin, train_y.bin, test_X.bin, test_y.bin}``
- celeba: ``ROOT/celeba/{img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt, identity_CelebA.txt,
  list_bbox_celeba.txt, list_landmarks_align_celeba.txt}``; the label is the binary attribute
  ``DataConfig.attribute`` (default Gray_Hair, as the IA-ViT notebook)
- imagefolder: ``ROOT/train/<class>/*.png`` and ``ROOT/test/<class>/...`` (or ``val/``), or one
  ``ROOT/<class>/...`` tree split deterministically into train/val/test

The subclasses below check that the files exist but not their MD5 sums (torchvision checks the sums of the
official archives; a re-packed or test copy in the same format must load too).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset, Subset
from torchvision import datasets, transforms

from ..config import DataConfig
from ..errors import UserError, unknown
from . import DATASETS, DataBundle, split_train_val

# Per-channel statistics of the training splits (used when DataConfig.mean/std are not given).
STATS = {
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
    "cifar100": ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
    "stl10": ([0.4467, 0.4398, 0.4066], [0.2603, 0.2566, 0.2713]),
    "celeba": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "imagefolder": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}
LAYOUT = {
    "cifar10": "cifar-10-batches-py/ with data_batch_1..5, test_batch, batches.meta",
    "cifar100": "cifar-100-python/ with train, test, meta",
    "stl10": "stl10_binary/ with train_X.bin, train_y.bin, test_X.bin, test_y.bin",
    "celeba": "celeba/ with img_align_celeba/ and the list_*.txt / identity_CelebA.txt files",
    "imagefolder": "train/<class>/ and test/<class>/ image folders (or one <class>/ tree)",
}


class _CIFAR10(datasets.CIFAR10):
    train_list = [[name, None] for name, _ in datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR10.test_list]
    meta = {**datasets.CIFAR10.meta, "md5": None}


class _CIFAR100(datasets.CIFAR100):
    train_list = [[name, None] for name, _ in datasets.CIFAR100.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR100.test_list]
    meta = {**datasets.CIFAR100.meta, "md5": None}


class _STL10(datasets.STL10):
    # the unlabeled split (2.7 GB) is not needed for classification
    train_list = [[name, None] for name, _ in datasets.STL10.train_list if not name.startswith("unlabeled")]
    test_list = [[name, None] for name, _ in datasets.STL10.test_list]


class _CelebA(datasets.CelebA):
    file_list = [(file_id, None, name) for file_id, _, name in datasets.CelebA.file_list]


def _root(config: DataConfig) -> Path:
    if config.root:
        return Path(config.root).expanduser()
    return Path(os.environ.get("IABENCH_DATA", Path.home() / ".cache" / "iabench" / "data")) / config.name


def _transforms(config: DataConfig, mean: list[float], std: list[float], train: bool) -> Callable:
    size = (config.img_size, config.img_size)
    steps: list[Callable] = []
    if train and config.augment:  # the IA-ViT recipe: random resized crop and horizontal flip
        steps += [transforms.RandomResizedCrop(size, scale=(0.05, 1.0)), transforms.RandomHorizontalFlip()]
    else:
        steps.append(transforms.Resize(size))
    return transforms.Compose(steps + [transforms.ToTensor(), transforms.Normalize(mean, std)])


def _open(name: str, build: Callable[[Callable], Dataset], config: DataConfig, root: Path,
          train: bool) -> Dataset:
    mean, std = _stats(config)
    try:
        return build(_transforms(config, mean, std, train))
    except (RuntimeError, FileNotFoundError) as err:
        raise UserError(f"{name} not found under '{root}' (expected {LAYOUT[name]}); pass --data-root DIR holding "
                        f"it ({str(err).splitlines()[0][:80]})") from None


def _stats(config: DataConfig) -> tuple[list[float], list[float]]:
    if config.mean is not None and config.std is not None:
        return config.mean, config.std
    return STATS[config.name]


def _bundle(config: DataConfig, train_aug: Dataset, train_eval: Dataset, test: Dataset, classes: list[str],
            source: Path) -> DataBundle:
    """Train/val from the training split (val without augmentation), test as given."""
    train_idx, val_idx = (s.indices for s in split_train_val(train_eval, config.val_fraction, config.seed))
    if config.limit_train:
        train_idx = train_idx[: config.limit_train]
    mean, std = _stats(config)
    return DataBundle(config.name, Subset(train_aug, train_idx), Subset(train_eval, val_idx), test,
                      num_classes=len(classes), in_chans=3, img_size=config.img_size, mean=list(mean), std=list(std),
                      class_names=list(classes), source=str(source))


def _cifar(cls: type, name: str) -> Callable[[DataConfig], DataBundle]:
    def load(config: DataConfig) -> DataBundle:
        root = _root(config)
        open_ = lambda train_split, aug: _open(  # noqa: E731
            name, lambda tf: cls(str(root), train=train_split, transform=tf, download=False), config, root, aug)
        train_aug, train_eval, test = open_(True, True), open_(True, False), open_(False, False)
        return _bundle(config, train_aug, train_eval, test, train_eval.classes, root)

    return load


DATASETS.register("cifar10")(_cifar(_CIFAR10, "cifar10"))
DATASETS.register("cifar100")(_cifar(_CIFAR100, "cifar100"))


@DATASETS.register("stl10")
def load_stl10(config: DataConfig) -> DataBundle:
    root = _root(config)

    def open_(split: str, aug: bool) -> Dataset:
        return _open("stl10", lambda tf: _STL10(str(root), split=split, transform=tf, download=False), config, root,
                     aug)

    train_eval = open_("train", False)
    return _bundle(config, open_("train", True), train_eval, open_("test", False), train_eval.classes, root)


@DATASETS.register("celeba")
def load_celeba(config: DataConfig) -> DataBundle:
    """CelebA with its own train/valid/test partition; label = one binary attribute."""
    root = _root(config)

    def open_(split: str, aug: bool) -> datasets.CelebA:
        return _open("celeba", lambda tf: _CelebA(str(root), split=split, target_type="attr", transform=tf,
                                                   download=False), config, root, aug)

    parts = {"train": open_("train", True), "valid": open_("valid", False), "test": open_("test", False)}
    names = [n for n in parts["train"].attr_names if n]
    if config.attribute not in names:
        raise unknown("CelebA attribute", config.attribute, names)
    index = names.index(config.attribute)
    for part in parts.values():
        part.target_transform = lambda attrs, i=index: int(attrs[i])
    train = parts["train"]
    if config.limit_train:
        train = Subset(train, list(range(min(config.limit_train, len(train)))))
    mean, std = _stats(config)
    return DataBundle("celeba", train, parts["valid"], parts["test"], num_classes=2, in_chans=3,
                      img_size=config.img_size, mean=list(mean), std=list(std),
                      class_names=[f"not {config.attribute}", config.attribute], source=str(root))


@DATASETS.register("imagefolder")
def load_imagefolder(config: DataConfig) -> DataBundle:
    """ImageFolder (e.g. dogs vs cats): train/ + test/ (or val/) subfolders, or one tree split by seed."""
    root = _root(config)
    if not root.is_dir():
        raise UserError(f"imagefolder not found under '{root}' (expected {LAYOUT['imagefolder']}); "
                        "pass --data-root DIR")
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)

    def open_(folder: Path, aug: bool) -> datasets.ImageFolder:
        return _open("imagefolder", lambda tf: datasets.ImageFolder(str(folder), transform=tf), config, root, aug)

    if (root / "train").is_dir() and test_dir is not None:
        train_eval = open_(root / "train", False)
        return _bundle(config, open_(root / "train", True), train_eval, open_(test_dir, False), train_eval.classes,
                       root)
    train_eval, train_aug = open_(root, False), open_(root, True)
    rest, test = split_train_val(train_eval, config.val_fraction, config.seed + 1)  # test carved out first
    train_idx, val_idx = (s.indices for s in split_train_val(Subset(train_eval, rest.indices), config.val_fraction,
                                                            config.seed))
    train_idx = [rest.indices[i] for i in train_idx]
    val_idx = [rest.indices[i] for i in val_idx]
    if config.limit_train:
        train_idx = train_idx[: config.limit_train]
    mean, std = _stats(config)
    return DataBundle("imagefolder", Subset(train_aug, train_idx), Subset(train_eval, val_idx),
                      Subset(train_eval, test.indices), num_classes=len(train_eval.classes), in_chans=3,
                      img_size=config.img_size, mean=list(mean), std=list(std), class_names=train_eval.classes,
                      source=str(root))


__all__ = ["STATS", "load_celeba", "load_imagefolder", "load_stl10"]
