"""ImageFolder from local files (e.g. dogs vs cats): ``ROOT/train/<class>/*`` with ``ROOT/test/<class>/*`` and/or
``ROOT/val/<class>/*``, or one ``ROOT/<class>/*`` tree, through torchvision's ``ImageFolder``; splits and
normalisation 0.5/0.5 (as the IA-ViT paper) unless ``data.mean/std`` are set. Splits: train/ -> train/val by
seed; test/ is the test split (val/ when there is no test/; with both, val/ is the validation split); a single tree
is split into test (``IMAGEFOLDER_TEST_FRACTION``, the same images for every seed) and then train/val by seed, or
is entirely the test split when nothing is trained (``data.eval_only``). Every image is opened once before any
work, so that one unreadable file is a one-line error naming it, not a traceback in the middle of a run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image
from torch.utils.data import Subset
from torchvision import datasets

from ..config import DataConfig
from ..contract import NoOptions
from ..errors import UserError
from . import DATASETS, DataBundle, DatasetPlugin, split_train_val
from .torchvision_sets import LAYOUT, build_transform, bundle, open_dataset, root_of, stats_of

IMAGEFOLDER_TEST_FRACTION = 0.2
IMAGEFOLDER_TEST_SEED = 0  # fixed: the held-out test images do not change with DataConfig.seed


def check_readable(paths: Iterable[str]) -> None:
    """Every image file must open (PIL reads its header and checks it): one unreadable file stops the run before
    any work, naming the file, rather than with a traceback in the middle of it."""
    for path in paths:
        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, SyntaxError, ValueError) as err:  # UnidentifiedImageError is an OSError
            reason = (str(err).splitlines() or [type(err).__name__])[0][:80]
            raise UserError(f"imagefolder: '{path}' is not a readable image ({reason}); remove or replace it, "
                            "then run again") from None



@DATASETS.register
class ImageFolder(DatasetPlugin):
    name = "imagefolder"
    description = "your own images, one folder per class: train/ and test/ (and val/), or one tree split by seed"

    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        return load_imagefolder(config)


def load_imagefolder(config: DataConfig) -> DataBundle:
    """ImageFolder (e.g. dogs vs cats): train/ + test/ and/or val/ subfolders, or one class tree."""
    root = root_of(config)
    if not root.is_dir():
        raise UserError(f"imagefolder: '{root}' is not a directory; expected {LAYOUT['imagefolder']} there; "
                        "pass --data-root DIR holding it")
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    val_dir = root / "val" if (root / "val").is_dir() and test_dir == root / "test" else None

    checked: set[Path] = set()

    def open_(folder: Path, augment: bool) -> datasets.ImageFolder:
        transform = build_transform(config, augment)
        dataset = open_dataset("imagefolder", root, lambda: datasets.ImageFolder(str(folder), transform=transform))
        if folder not in checked:  # a folder opened twice (with and without augmentation) is read once
            check_readable(path for path, _ in dataset.samples)
            checked.add(folder)
        return dataset

    if (root / "train").is_dir() and test_dir is not None:
        train_eval = open_(root / "train", False)
        others = {d: open_(d, False) for d in (test_dir, val_dir) if d is not None}
        for folder, dataset in others.items():
            if dataset.classes != train_eval.classes:
                raise UserError(f"imagefolder: the classes of '{folder}' ({', '.join(dataset.classes)}) differ from "
                                f"those of '{root / 'train'}' ({', '.join(train_eval.classes)})")
        return bundle(config, open_(root / "train", True), train_eval, others[test_dir], train_eval.classes, root,
                       val=others.get(val_dir) if val_dir is not None else None)
    if test_dir is not None:
        raise UserError(f"imagefolder: '{test_dir}' found but no '{root / 'train'}'; expected {LAYOUT['imagefolder']}")
    tree = root / "train" if (root / "train").is_dir() else root  # train/ alone: split it three ways
    train_eval = open_(tree, False)
    if config.eval_only:  # nothing is trained (--checkpoint): every image of the tree is evaluated
        empty = Subset(train_eval, [])
        mean, std = stats_of(config)
        return DataBundle(config.name, empty, empty, train_eval, num_classes=len(train_eval.classes), in_chans=3,
                          img_size=config.img_size, mean=mean, std=std, class_names=list(train_eval.classes),
                          source=str(root))
    train_aug = open_(tree, True)
    rest, test = split_train_val(train_eval, IMAGEFOLDER_TEST_FRACTION, IMAGEFOLDER_TEST_SEED)
    return bundle(config, Subset(train_aug, rest.indices), Subset(train_eval, rest.indices),
                   Subset(train_eval, test.indices), train_eval.classes, root)
