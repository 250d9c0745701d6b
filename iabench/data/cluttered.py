"""Cluttered Fashion-MNIST: a dataset with ground-truth explanation masks, for localisation metrics.

In the spirit of cluttered MNIST (Mnih et al. 2014, "Recurrent Models of Visual Attention", sec. 4.1):
each item is a Fashion-MNIST image pasted at a uniformly random position on a black
``canvas``-sized canvas (an option) (default 56x56), plus ``distractors`` (an option, default 3) fragments
of *other* items of the same split. The label is the item's class; the mask is the item's footprint, its
nonzero pixels after pasting, bool (S, S).

Fragment rule (deterministic, see ``make_canvas``):

- source: a random other item of the same split (test distractors come from test items only);
- size: a random square side in [10, 14] px; crop: a random position in the source, re-drawn up to
  ``CROP_TRIES`` times until at least ``MIN_INK`` of its pixels are nonzero (a crop of black background
  would be no distractor);
- position: a random position on the canvas, re-drawn up to ``PLACE_TRIES`` times until at most
  ``MAX_OVERLAP`` of the fragment's nonzero pixels fall on the item's footprint (else the position with the
  least overlap is kept);
- blending: max with what is already there (fragments may overlap each other), and fragment pixels on the
  footprint are dropped, so the item is never altered and the mask is exactly its footprint.

Canvases are generated lazily, each from its own seed ``(DataConfig.seed, split, index)``, so the same seed
gives byte-identical canvases in any order, with DataLoader workers, and nothing large is held in memory
(60k + 10k canvases eagerly would be 220 MB). One canvas takes about 0.1 ms.
Normalisation statistics are those of the canvases of the training split (the training items not
carved out for validation), a deterministic evenly-spaced sample of ``STATS_SAMPLE`` of them when there
are more (the sample's mean/std differ from the full split's by < 1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

from ..config import DataConfig
from ..contract import Options, option
from ..errors import UserError
from ..ranges import AT_LEAST_0, AT_LEAST_1
from . import DATASETS, DataBundle, DatasetPlugin, split_train_val
from .fashion_mnist import CLASS_NAMES, load_arrays

FRAGMENT_SIZES = (10, 14)  # inclusive range of a fragment's side in pixels
MIN_INK = 0.3  # a fragment must have at least this fraction of nonzero pixels ...
CROP_TRIES = 4  # ... within this many crop draws
MAX_OVERLAP = 0.1  # at most this fraction of a fragment's nonzero pixels may fall on the item's footprint ...
PLACE_TRIES = 8  # ... within this many position draws
STATS_SAMPLE = 10_000
SPLIT_CODES = {"train": 0, "test": 1}  # part of each canvas's seed: train and test canvases differ


def make_canvas(items: np.ndarray, index: int, canvas: int, distractors: int, seed: int,
                split_code: int) -> tuple[np.ndarray, np.ndarray]:
    """(canvas uint8 (S, S), mask bool (S, S)) for item ``index`` of ``items`` (N, h, w), from its own seed."""
    rng = np.random.default_rng([seed, split_code, index])
    h, w = items.shape[1:]
    item = items[index]
    image = np.zeros((canvas, canvas), dtype=np.uint8)
    mask = np.zeros((canvas, canvas), dtype=bool)
    top, left = int(rng.integers(0, canvas - h + 1)), int(rng.integers(0, canvas - w + 1))
    image[top:top + h, left:left + w] = item
    mask[top:top + h, left:left + w] = item > 0
    for _ in range(distractors if len(items) > 1 else 0):
        other = int(rng.integers(0, len(items) - 1))
        other += other >= index  # any item but this one, uniformly
        side = int(rng.integers(FRAGMENT_SIZES[0], FRAGMENT_SIZES[1] + 1))
        for _ in range(CROP_TRIES):
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            fragment = items[other, y:y + side, x:x + side]
            if (fragment > 0).mean() >= MIN_INK:
                break
        ink = fragment > 0
        best, best_overlap = (0, 0), None
        for _ in range(PLACE_TRIES):
            fy, fx = int(rng.integers(0, canvas - side + 1)), int(rng.integers(0, canvas - side + 1))
            overlap = int((ink & mask[fy:fy + side, fx:fx + side]).sum())
            if best_overlap is None or overlap < best_overlap:
                best, best_overlap = (fy, fx), overlap
            if overlap <= MAX_OVERLAP * max(int(ink.sum()), 1):
                break
        fy, fx = best
        region = image[fy:fy + side, fx:fx + side]  # a view: writing to it writes the canvas
        keep = ~mask[fy:fy + side, fx:fx + side]
        region[keep] = np.maximum(region[keep], fragment[keep])
    return image, mask


class ClutteredFashionMNIST(Dataset):
    """Items (image (1, S, S) normalised float32, label, mask (S, S) bool), generated on access;
    S = ``config.img_size`` (the canvas is resized bilinearly, the mask by nearest neighbour)."""

    def __init__(self, items: torch.Tensor, labels: torch.Tensor, config: DataConfig, options: ClutteredOptions,
                 split: str, mean: list[float], std: list[float]) -> None:
        self.items = np.ascontiguousarray(items.numpy())
        self.labels = labels.long()
        self.canvas, self.distractors, self.seed = options.canvas, options.distractors, config.seed
        self.img_size = config.img_size
        self.split_code = SPLIT_CODES[split]
        self.mean, self.std = float(mean[0]), float(std[0])

    def __len__(self) -> int:
        return len(self.items)

    def raw(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The canvas (uint8, canvas x canvas) and mask before resizing and normalisation."""
        return make_canvas(self.items, index, self.canvas, self.distractors, self.seed, self.split_code)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, torch.Tensor]]:
        image, mask = self.raw(index)
        tensor = torch.from_numpy(image).float().div_(255.0)[None]
        mask_t = torch.from_numpy(mask)
        if self.img_size != self.canvas:
            size = (self.img_size, self.img_size)
            tensor = F.interpolate(tensor[None], size=size, mode="bilinear", align_corners=False)[0]
            mask_t = F.interpolate(mask_t[None, None].float(), size=size, mode="nearest")[0, 0] > 0.5
        return (tensor - self.mean) / self.std, int(self.labels[index]), {"object": mask_t}


def canvas_stats(dataset: ClutteredFashionMNIST, indices: list[int]) -> tuple[list[float], list[float]]:
    """Mean and std (in [0, 1] units) of the raw canvases at ``indices`` (an even sample if too many)."""
    if len(indices) > STATS_SAMPLE:
        indices = [indices[i] for i in np.linspace(0, len(indices) - 1, STATS_SAMPLE).astype(int)]
    total, total_sq, count = 0.0, 0.0, 0
    for i in indices:
        canvas = dataset.raw(i)[0].astype(np.float64) / 255.0
        total, total_sq, count = total + canvas.sum(), total_sq + (canvas ** 2).sum(), count + canvas.size
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean ** 2, 0.0) * count / max(count - 1, 1)))
    return [round(float(mean), 4)], [round(std, 4)]


@dataclass(frozen=True)
class ClutteredOptions(Options):
    canvas: int = option(56, "canvas side in pixels (at least the item's 28)", AT_LEAST_1)
    distractors: int = option(3, "fragments of other items per canvas", AT_LEAST_0)


@DATASETS.register
class Cluttered(DatasetPlugin):
    name = "cluttered-fashion-mnist"
    in_chans = 1
    description = "a Fashion-MNIST item at a random place on a canvas among fragments of others; mask: its footprint"
    Options = ClutteredOptions
    masks = ("object",)

    @classmethod
    def load(cls, config: DataConfig, options: ClutteredOptions) -> DataBundle:
        return load_cluttered(config, options)


def load_cluttered(config: DataConfig, options: ClutteredOptions) -> DataBundle:
    arrays, source = load_arrays(config.root)
    side = int(arrays["train_images"].shape[-1])
    if options.canvas < side:
        raise UserError(f"data.canvas must be at least the item size ({side}), got {options.canvas}")
    full_train = ClutteredFashionMNIST(arrays["train_images"], arrays["train_labels"], config, options, "train",
                                       [0.0], [1.0])
    train, val = split_train_val(full_train, config.val_fraction, config.seed)
    if config.mean is None or config.std is None:
        mean, std = canvas_stats(full_train, train.indices)
    else:
        mean, std = list(config.mean), list(config.std)
    full_train.mean, full_train.std = float(mean[0]), float(std[0])  # train and val are Subsets of it
    if config.limit_train:
        train = Subset(full_train, train.indices[: config.limit_train])
    test = ClutteredFashionMNIST(arrays["test_images"], arrays["test_labels"], config, options, "test", mean, std)
    return DataBundle("cluttered-fashion-mnist", train, val, test, num_classes=10, in_chans=1,
                      img_size=config.img_size, mean=mean, std=std, class_names=CLASS_NAMES, masks=("object",),
                      source=source)
