"""A synthetic dataset whose evidence is known: class k is glyph k (a fixed binary pattern) pasted at a
random position on a noise background; the mask is the glyph's square.

For tests and quick demos (``data.name=synthetic``): deterministic from ``DataConfig.seed``, any image
size and channel count (option ``channels``), and the ground-truth mask is the square, so localisation metrics apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import DataConfig
from ..contract import Options, option
from ..ranges import AT_LEAST_1
from . import DATASETS, DataBundle, DatasetPlugin
from .tensor_dataset import ImageTensorDataset, channel_stats

SIZES = {"train": 2000, "val": 200, "test": 400}
NUM_CLASSES = 10


def make_split(count: int, size: int, channels: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 images (N, C, S, S), labels (N,), masks (N, S, S): noise plus one glyph per image."""
    side = max(4, size // 3)
    # The glyphs are the same for every seed and split (the classes must not change with the seed).
    glyphs = torch.rand(NUM_CLASSES, side, side, generator=torch.Generator().manual_seed(1234)) > 0.5
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % NUM_CLASSES
    labels = labels[torch.randperm(count, generator=gen)]
    images = torch.randint(0, 60, (count, channels, size, size), generator=gen, dtype=torch.uint8)
    masks = torch.zeros(count, size, size, dtype=torch.bool)
    corners = torch.randint(0, size - side + 1, (count, 2), generator=gen)
    for i, label in enumerate(labels.tolist()):
        top, left = corners[i].tolist()
        # glyph pixels are bright, the rest of the square has a class-specific grey: easy to learn quickly
        grey = 70 + 12 * label
        images[i, :, top:top + side, left:left + side] = torch.where(glyphs[label], 250, grey).to(torch.uint8)
        masks[i, top:top + side, left:left + side] = True
    return images, labels, masks


@dataclass(frozen=True)
class SyntheticOptions(Options):
    channels: int = option(1, "image channels", AT_LEAST_1)


@DATASETS.register
class Synthetic(DatasetPlugin):
    name = "synthetic"
    description = "glyph k on noise is class k; the mask is the glyph's square (tests and quick demos)"
    Options = SyntheticOptions
    masks = ("glyph",)

    @classmethod
    def channels(cls, options: SyntheticOptions) -> int:
        return options.channels

    @classmethod
    def load(cls, config: DataConfig, options: SyntheticOptions) -> DataBundle:
        return load_synthetic(config, options.channels)


def load_synthetic(config: DataConfig, channels: int) -> DataBundle:
    splits = {name: make_split(count, config.img_size, channels, config.seed * 3 + offset)
              for offset, (name, count) in enumerate(SIZES.items())}
    if config.mean is None or config.std is None:
        mean, std = channel_stats(splits["train"][0])
    else:
        mean, std = config.mean, config.std
    datasets = {name: ImageTensorDataset(images, labels, mean, std, config.img_size, masks={"glyph": masks})
                for name, (images, labels, masks) in splits.items()}
    train = datasets["train"]
    if config.limit_train:
        train = torch.utils.data.Subset(train, list(range(min(config.limit_train, len(train)))))
    return DataBundle("synthetic", train, datasets["val"], datasets["test"], num_classes=NUM_CLASSES,
                      in_chans=channels, img_size=config.img_size, mean=mean, std=std,
                      class_names=[f"square {k}" for k in range(NUM_CLASSES)], masks=("glyph",), source="generated")
