"""What the torchvision-backed datasets share (``cifar``, ``stl10``, ``celeba``, ``imagefolder``): where their
files are, their normalisation, transforms and splits. Each reads its files through torchvision's own dataset class.

Nothing is downloaded (``download=False``): the files must be under ``DataConfig.root`` (``--data-root``;
the dataset's own folder, e.g. ``cifar-10-batches-py``, is accepted too), or else under
``$IABENCH_DATA/<name>`` (default ``~/.cache/iabench/data/<name>``), in torchvision's layout:

- cifar10: ``ROOT/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` (the python pickles)
- cifar100: ``ROOT/cifar-100-python/{train, test, meta}``
- stl10: ``ROOT/stl10_binary/{train_X.bin, train_y.bin, test_X.bin, test_y.bin[, class_names.txt]}`` (no unlabeled)
- celeba: ``ROOT/celeba/{img_align_celeba/*.jpg, list_attr_celeba.txt, list_eval_partition.txt,
  identity_CelebA.txt, list_bbox_celeba.txt, list_landmarks_align_celeba.txt}`` (torchvision reads all five
  lists); the label is the binary attribute of option ``attribute`` (default Gray_Hair, as the IA-ViT notebook)

Splits: CIFAR/STL-10 train -> train/val by ``split_train_val(seed)``, test = the test split; CelebA: its
own train/valid/test partition; ImageFolder: see ``imagefolder``. Augmentation (``DataConfig.augment``) applies to
the train subset only: the val subset is taken from a second dataset object over the same files with the
evaluation transform.

Normalisation: ``DataConfig.mean/std`` when given (the IA-ViT paper uses 0.5/0.5), else ``STATS``: the
per-channel mean/std of each dataset's training split (the usual published values); 0.5/0.5 for CelebA and
ImageFolder, as the IA-ViT paper.

The subclasses below check that the files exist but not their MD5 sums (torchvision checks the sums of the
official archives; a re-packed or test copy in the same format must load too). Unreadable files are a
``UserError`` as well.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset, Subset
from torchvision import transforms

from ..config import DataConfig
from ..errors import UserError
from . import DataBundle, split_train_val

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
    "celeba": ("celeba/ with img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt, identity_CelebA.txt, "
               "list_bbox_celeba.txt, list_landmarks_align_celeba.txt"),
    "imagefolder": "train/<class>/ with test/<class>/ or val/<class>/ image folders, or one <class>/ tree",
}
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
AUGMENT_SCALE = (0.05, 1.0)  # RandomResizedCrop area range of the ViT fine-tuning recipe ("inception crop")
# what torchvision raises on missing or unreadable files (truncated pickles, wrongly-sized binaries, missing keys)
READ_ERRORS = (RuntimeError, OSError, EOFError, ValueError, KeyError, IndexError, pickle.UnpicklingError)


def root_of(config: DataConfig, base_folder: str = "") -> Path:
    if config.root:
        root = Path(config.root).expanduser()
    else:
        root = Path(os.environ.get("IABENCH_DATA", Path.home() / ".cache" / "iabench" / "data")).expanduser()
        root = root / config.name
    if base_folder and root.name == base_folder and not (root / base_folder).exists():
        root = root.parent  # --data-root given as the dataset's own folder
    return root


def stats_of(config: DataConfig) -> tuple[list[float], list[float]]:
    if config.mean is not None and config.std is not None:
        return list(config.mean), list(config.std)
    mean, std = STATS[config.name]
    return list(mean), list(std)


def build_transform(config: DataConfig, train: bool) -> Callable:
    """Resize (or, for training with ``augment``, random resized crop + horizontal flip), ToTensor, Normalize."""
    size = (config.img_size, config.img_size)
    mean, std = stats_of(config)
    steps: list[Callable] = []
    if train and config.augment:
        steps += [transforms.RandomResizedCrop(size, scale=AUGMENT_SCALE), transforms.RandomHorizontalFlip()]
    else:
        steps.append(transforms.Resize(size))
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


def open_dataset(name: str, root: Path, build: Callable[[], Dataset]) -> Dataset:
    try:
        return build()
    except READ_ERRORS as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0][:100]
        if "download=True" in reason:  # torchvision's hint does not apply: iabench never downloads these
            reason = "files missing or incomplete"
        raise UserError(f"{name}: cannot load from '{root}' ({reason}); expected {LAYOUT[name]} there; "
                        "pass --data-root DIR holding it") from None


def bundle(config: DataConfig, train_aug: Dataset, train_eval: Dataset, test: Dataset, classes: list[str],
            source: Path, val: Dataset | None = None) -> DataBundle:
    """Train (and val, unless given) from the training split, val without augmentation; test as given."""
    if val is None:
        train_idx, val_idx = (s.indices for s in split_train_val(train_eval, config.val_fraction, config.seed))
        val = Subset(train_eval, val_idx)
    else:
        train_idx = list(range(len(train_eval)))  # type: ignore[arg-type]
    if config.limit_train:
        train_idx = train_idx[: config.limit_train]
    mean, std = stats_of(config)
    return DataBundle(config.name, Subset(train_aug, train_idx), val, test, num_classes=len(classes), in_chans=3,
                      img_size=config.img_size, mean=mean, std=std, class_names=list(classes), source=str(source))


__all__ = ["LAYOUT", "STATS", "build_transform", "bundle", "open_dataset", "root_of", "stats_of"]
