"""STL-10's labelled splits from ``stl10_binary`` (local files, see ``torchvision_sets``)."""

from __future__ import annotations

from torchvision import datasets

from ..config import DataConfig
from ..contract import NoOptions
from . import DATASETS, DataBundle, DatasetPlugin
from .torchvision_sets import STL10_CLASSES, build_transform, bundle, open_dataset, root_of


class _STL10(datasets.STL10):
    # the unlabeled split (2.7 GB) is not needed for classification; train_list[0:2] stay train_X/train_y
    train_list = [[name, None] for name, _ in datasets.STL10.train_list if not name.startswith("unlabeled")]
    test_list = [[name, None] for name, _ in datasets.STL10.test_list]


@DATASETS.register
class STL10(DatasetPlugin):
    name = "stl10"
    description = "STL-10's labelled splits (Coates et al. 2011): 5,000 + 8,000 96x96 colour images, 10 classes"
    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        return load_stl10(config)


def load_stl10(config: DataConfig) -> DataBundle:
    """STL-10's labelled splits (5,000 train, 8,000 test, 96x96): train -> train/val by seed."""
    root = root_of(config, _STL10.base_folder)

    def open_(split: str, augment: bool) -> datasets.STL10:
        transform = build_transform(config, augment)
        return open_dataset("stl10", root, lambda: _STL10(str(root), split=split, transform=transform, download=False))

    train_eval = open_("train", False)
    classes = getattr(train_eval, "classes", STL10_CLASSES)  # class_names.txt is optional
    return bundle(config, open_("train", True), train_eval, open_("test", False), classes, root)
