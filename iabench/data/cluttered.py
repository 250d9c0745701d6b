"""Cluttered Fashion-MNIST: a dataset with ground-truth explanation masks, for localisation metrics.

Each item is a Fashion-MNIST image pasted at a random position on a ``DataConfig.canvas``-sized black
canvas (default 56x56), with ``DataConfig.distractors`` (default 3) fragments of *other* items: random
12x12 crops of random images of the same split, pasted at random positions with max-blending. Fragments
never cover the item's footprint (their pixels on the footprint are dropped), so the mask is exactly the
item's footprint: its pixels brighter than 10/255. The label is the item's class.

Canvases are generated lazily, each from its own seed (``DataConfig.seed``, the split and the index), so
the same seed gives byte-identical canvases in any order and nothing large is held in memory.
Normalisation statistics are computed on the first 2,000 training canvases.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from ..config import DataConfig
from . import DATASETS, DataBundle, split_train_val
from .fashion_mnist import CLASS_NAMES, load_arrays

FRAGMENT = 12
FOOTPRINT_THRESHOLD = 10  # uint8 intensity above which an item pixel belongs to the mask


def make_canvas(items: np.ndarray, index: int, canvas: int, distractors: int, seed: int,
                split_code: int) -> tuple[np.ndarray, np.ndarray]:
    """(canvas uint8 (S, S), mask bool (S, S)) for item ``index`` of ``items`` (N, 28, 28)."""
    rng = np.random.default_rng([seed, split_code, index])
    side = items.shape[-1]
    image = np.zeros((canvas, canvas), dtype=np.uint8)
    top, left = rng.integers(0, canvas - side + 1, size=2)
    item = items[index]
    image[top:top + side, left:left + side] = item
    mask = np.zeros((canvas, canvas), dtype=bool)
    mask[top:top + side, left:left + side] = item > FOOTPRINT_THRESHOLD
    for _ in range(distractors):
        other = int(rng.integers(0, len(items)))
        if other == index:
            other = (other + 1) % len(items)
        y, x = rng.integers(0, side - FRAGMENT + 1, size=2)
        fragment = items[other, y:y + FRAGMENT, x:x + FRAGMENT]
        fy, fx = rng.integers(0, canvas - FRAGMENT + 1, size=2)
        region = image[fy:fy + FRAGMENT, fx:fx + FRAGMENT]
        keep = ~mask[fy:fy + FRAGMENT, fx:fx + FRAGMENT]
        region[keep] = np.maximum(region[keep], fragment[keep])
    return image, mask


class ClutteredFashionMNIST(Dataset):
    """Items (image (1, S, S) normalised float32, label, mask (S, S) bool), generated on access."""

    def __init__(self, items: torch.Tensor, labels: torch.Tensor, config: DataConfig, split_code: int,
                 mean: list[float], std: list[float]) -> None:
        self.items = items.numpy()
        self.labels = labels.long()
        self.config = config
        self.split_code = split_code
        self.mean, self.std = float(mean[0]), float(std[0])

    def __len__(self) -> int:
        return len(self.items)

    def raw(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return make_canvas(self.items, index, self.config.canvas, self.config.distractors, self.config.seed,
                           self.split_code)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        image, mask = self.raw(index)
        tensor = (torch.from_numpy(image).float().div_(255.0) - self.mean) / self.std
        if self.config.img_size != self.config.canvas:
            tensor = torch.nn.functional.interpolate(tensor[None, None], size=(self.config.img_size,) * 2,
                                                     mode="bilinear", align_corners=False)[0, 0]
            mask = torch.nn.functional.interpolate(torch.from_numpy(mask)[None, None].float(),
                                                   size=(self.config.img_size,) * 2, mode="nearest")[0, 0].numpy() > 0.5
        return tensor[None], int(self.labels[index]), torch.from_numpy(np.ascontiguousarray(mask))


@DATASETS.register("cluttered-fashion-mnist")
def load_cluttered(config: DataConfig) -> DataBundle:
    arrays, source = load_arrays(config.root)
    probe = ClutteredFashionMNIST(arrays["train_images"], arrays["train_labels"], config, 0, [0.0], [1.0])
    if config.mean is None or config.std is None:
        sample = np.stack([probe.raw(i)[0] for i in range(min(2000, len(probe)))]).astype(np.float64) / 255.0
        mean, std = [round(float(sample.mean()), 4)], [round(float(sample.std()), 4)]
    else:
        mean, std = config.mean, config.std
    full_train = ClutteredFashionMNIST(arrays["train_images"], arrays["train_labels"], config, 0, mean, std)
    train, val = split_train_val(full_train, config.val_fraction, config.seed)
    if config.limit_train:
        train = Subset(full_train, train.indices[: config.limit_train])
    test = ClutteredFashionMNIST(arrays["test_images"], arrays["test_labels"], config, 1, mean, std)
    return DataBundle("cluttered-fashion-mnist", train, val, test, num_classes=10, in_chans=1,
                      img_size=config.img_size, mean=mean, std=std, class_names=CLASS_NAMES, has_masks=True,
                      source=source)
