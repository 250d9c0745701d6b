"""CelebA from its aligned images and lists (local files, see ``torchvision_sets``); the label is one binary
attribute (option ``attribute``)."""

from __future__ import annotations

from dataclasses import dataclass

from torchvision import datasets

from ..config import DataConfig
from ..contract import Options, option
from ..errors import unknown
from . import DATASETS, DataBundle, DatasetPlugin
from .torchvision_sets import build_transform, bundle, open_dataset, root_of


class _CelebA(datasets.CelebA):
    # the .zip entry is never checked by torchvision (only the extracted img_align_celeba/ folder)
    file_list = [(file_id, None, name) for file_id, _, name in datasets.CelebA.file_list]


@dataclass(frozen=True)
class CelebAOptions(Options):
    attribute: str = option("Gray_Hair", "the binary attribute used as the label (the IA-ViT notebook's)")


@DATASETS.register
class CelebA(DatasetPlugin):
    name = "celeba"
    description = "CelebA (Liu et al. 2015) with its own train/valid/test partition; label: one binary attribute"
    Options = CelebAOptions
    @classmethod
    def load(cls, config: DataConfig, options: CelebAOptions) -> DataBundle:
        return load_celeba(config, options.attribute)


def load_celeba(config: DataConfig, attribute: str) -> DataBundle:
    """CelebA with its own train/valid/test partition; label = the binary ``attribute``."""
    root = root_of(config, _CelebA.base_folder)

    def open_(split: str, augment: bool) -> datasets.CelebA:
        transform = build_transform(config, augment)
        return open_dataset("celeba", root, lambda: _CelebA(str(root), split=split, target_type="attr",
                                                            transform=transform, download=False))

    parts = {"train": open_("train", True), "valid": open_("valid", False), "test": open_("test", False)}
    names = [n for n in parts["train"].attr_names if n]
    if attribute not in names:
        raise unknown("CelebA attribute", attribute, names)
    index = names.index(attribute)
    for part in parts.values():
        # torchvision maps the file's -1/1 to 0/1; keep only the chosen attribute, as an int class
        part.target_transform = lambda attrs, i=index: int(attrs[i])
    return bundle(config, parts["train"], parts["train"], parts["test"],
                   [f"not {attribute}", attribute], root, val=parts["valid"])
