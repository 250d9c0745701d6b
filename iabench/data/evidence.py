"""Planted-evidence Fashion-MNIST: canvases whose evidence is known by construction, under two labellings.

Each 56x56 canvas (option ``canvas``) holds a Fashion-MNIST garment at a random position, one *class motif* (one of
10 binary shapes, ``motif_size`` px square) and ``decoys`` *decoy motifs* (shapes of a separate set that never
decides a class: the same size, the same number of lit pixels, the same intensity). Motifs keep one pixel away from
the garment's footprint and from each other. With ``placement: cell`` (the default) each motif lies inside one cell
of a ``cell``-px grid (the model's patch) at a random offset within it; with ``anywhere`` it may straddle cells.
With ``motifs: 2`` a second class motif is drawn (after everything else) and the motif task's label
is the sum of the two classes mod 10: either motif alone says nothing of the label, both are the evidence.
``noise`` > 0 lays uniform noise over the whole canvas (a background that is not blank: an explainer can no longer
rank the evidence first by leaving empty pixels at zero).

The same canvases are served under two labellings (option ``task``), after BAM (Yang & Kim 2019):
- ``motif``: the label is the motif's class; garment and decoys are independent of it, so accuracy above chance
  means the model reads the motif (the label ceiling of Zhou et al., AAAI 2022);
- ``garment``: the label is the garment's class; motif and decoys are independent of it.
Masks by name: ``evidence`` (the task's: the motif's lit pixels, or the garment's footprint), ``motif``, ``garment``.

Canvases are generated lazily from their own seed ``(data.seed, split, index)``, as in ``cluttered``; ``raw`` also
renders a canvas with its motif erased or replaced by another class's motif in the same place, its first decoy
erased or drawn as another decoy shape, and the decoys erased: the interventions of its reliance checks and their
controls (``evidence_reliance``). ``plant: false`` draws the garment alone (task ``garment``): the canvases the
garment task's accuracy floor is measured on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

from ..config import DataConfig
from ..contract import Options, option
from ..errors import UserError
from ..ranges import AT_LEAST_0
from . import DATASETS, DataBundle, DatasetPlugin, split_train_val
from .cluttered import SPLIT_CODES, canvas_stats
from .evidence_layout import CLASSES, DECOY_SHAPES, Layout, draw_layout, motif_shapes
from .evidence_reliance import EvidenceGroundTruth
from .fashion_mnist import CLASS_NAMES, load_arrays

INK = 255  # the intensity of every lit motif and decoy pixel
NOISE_STREAM = 1  # the background noise's random stream, beside the layout's


@dataclass(frozen=True)
class CanvasOptions(Options):
    task: Literal["motif", "garment"] = option("motif", "what the label is: the motif's class or the garment's")
    canvas: int = option(56, "canvas side in pixels", (36, None, True, False))
    motif_size: int = option(6, "side of a motif's square in pixels", (3, 12, True, True))
    decoys: int = option(2, "decoy motifs per canvas", AT_LEAST_0)
    motifs: int = option(1, "class motifs per canvas: 2 = the label is the sum of both classes mod 10 (task motif), "
                            "so neither decides alone", (1, 2, True, True))
    placement: Literal["cell", "anywhere"] = option("cell", "inside one grid cell, or anywhere (straddling cells)")
    cell: int = option(8, "grid cell side in pixels for placement 'cell' (the model's patch size)", (3, None, True,
                                                                                                     False))
    plant: bool = option(True, "draw the motif and the decoys (false: the garment alone, the garment task's baseline)")
    noise: int = option(0, "background noise: every pixel gains a uniform integer in [0, noise] (of 255), the same "
                           "under every intervention", (0, 254, True, True))

    # added later: the keys of the runs and models before them stay valid
    HASH_NEUTRAL = {"plant": True, "noise": 0, "motifs": 1}


class EvidenceCanvases(Dataset):
    """Items (image (1, S, S) normalised float32, label, {evidence, motif, garment} bool (S, S)), generated on access;
    S = ``data.img_size`` (canvas resized bilinearly, masks by nearest neighbour)."""

    def __init__(self, items: torch.Tensor, labels: torch.Tensor, config: DataConfig, options: CanvasOptions,
                 split: str, mean: float = 0.0, std: float = 1.0) -> None:
        self.items, self.garment_labels = np.ascontiguousarray(items.numpy()), labels.long()
        self.options, self.seed, self.split_code = options, config.seed, SPLIT_CODES[split]
        self.img_size, self.mean, self.std = config.img_size, mean, std
        self.shapes = motif_shapes(options.motif_size)

    def __len__(self) -> int:
        return len(self.items)

    def layout(self, index: int) -> Layout:
        rng = np.random.default_rng([self.seed, self.split_code, index])
        return draw_layout(self.items[index] > 0, self.options, rng)

    def label(self, index: int, layout: Layout | None = None, motif: int | None = None) -> int:
        """The label; ``motif`` = the label with the (first) motif swapped to that class (``raw``'s edit)."""
        if self.options.task == "garment":
            return int(self.garment_labels[index])
        layout = layout or self.layout(index)
        first = layout.motif_class if motif is None else motif
        return (first + sum(c for c, _, _ in layout.partners)) % CLASSES  # one motif: its class

    def raw(self, index: int, motif: int | None = None, erase_motif: bool = False, erase_decoys: bool = False,
            decoy: int | None = None, erase_decoy: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The canvas (uint8, canvas x canvas) and its masks before resizing; ``motif`` = another class's motif in the
        motif's place, ``decoy`` = another decoy shape in the first decoy's place, ``erase_motif`` / ``erase_decoys``
        / ``erase_decoy`` = without the motif, the decoys, the first decoy (the masks stay where the motif was)."""
        if decoy is not None and not 0 <= decoy < DECOY_SHAPES:  # beyond them lie the class motifs
            raise ValueError(f"decoy shape {decoy} is out of range [0, {DECOY_SHAPES})")
        layout, size, canvas = self.layout(index), self.options.motif_size, self.options.canvas
        image = np.zeros((canvas, canvas), dtype=np.uint8)
        masks = {name: np.zeros((canvas, canvas), dtype=bool) for name in ("motif", "garment")}
        item, (top, left) = self.items[index], layout.garment
        image[top:top + item.shape[0], left:left + item.shape[1]] = item
        masks["garment"][top:top + item.shape[0], left:left + item.shape[1]] = item > 0
        y, x = layout.motif
        if self.options.plant:
            masks["motif"][y:y + size, x:x + size] = self.shapes[layout.motif_class]
            for c, py, px in layout.partners:  # the second class motif: evidence too, never edited
                masks["motif"][py:py + size, px:px + size] = self.shapes[c]
                image[py:py + size, px:px + size][self.shapes[c]] = INK
            if not erase_motif:
                image[y:y + size, x:x + size][self.shapes[layout.motif_class if motif is None else motif]] = INK
            for k, (shape, dy, dx) in enumerate([] if erase_decoys else layout.decoys):
                if k == 0 and erase_decoy:
                    continue
                shape = decoy if k == 0 and decoy is not None else shape
                image[dy:dy + size, dx:dx + size][self.shapes[CLASSES + shape]] = INK
        masks["evidence"] = masks[self.options.task]
        if self.options.noise:  # its own stream: the layout's draws, and so every canvas's content, stay as they were
            rng = np.random.default_rng([self.seed, self.split_code, index, NOISE_STREAM])
            noise = rng.integers(0, self.options.noise + 1, image.shape, dtype=np.int16)
            image = np.minimum(image.astype(np.int16) + noise, INK).astype(np.uint8)
        return image, masks

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, dict[str, torch.Tensor]]:
        image, masks = self.raw(index)
        return self.served(image), self.label(index), {name: self._resized(masks[name]) for name in Evidence.masks}

    def served(self, image: np.ndarray) -> torch.Tensor:
        """A raw canvas as the model sees it: resized to ``img_size`` and normalised, (1, S, S)."""
        tensor = torch.from_numpy(image).float().div_(255.0)[None]
        if self.img_size != tensor.shape[-1]:
            tensor = F.interpolate(tensor[None], size=(self.img_size,) * 2, mode="bilinear", align_corners=False)[0]
        return (tensor - self.mean) / self.std

    def _resized(self, mask: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(mask)
        if self.img_size == tensor.shape[-1]:
            return tensor
        return F.interpolate(tensor[None, None].float(), size=(self.img_size,) * 2, mode="nearest")[0, 0] > 0.5


@DATASETS.register
class Evidence(DatasetPlugin):
    name = "evidence-fashion-mnist"
    in_chans = 1
    description = ("planted evidence: a garment, a class motif and decoys on a canvas; label = the motif's class "
                   "(task motif) or the garment's (task garment); masks: evidence, motif, garment")
    Options = CanvasOptions
    masks = ("evidence", "motif", "garment")
    ground_truth = EvidenceGroundTruth()

    @classmethod
    def load(cls, config: DataConfig, options: CanvasOptions) -> DataBundle:
        if options.task == "motif" and not options.plant:
            raise UserError("data.plant: false draws no motif, so task motif has nothing to learn; use task garment "
                            "(the garment task's baseline) or plant: true")
        if options.placement == "cell" and options.cell < options.motif_size:
            raise UserError(f"data.cell = {options.cell} is smaller than data.motif_size = {options.motif_size}; a "
                            "motif must fit inside one cell")
        arrays, source = load_arrays(config.root)
        full_train = EvidenceCanvases(arrays["train_images"], arrays["train_labels"], config, options, "train")
        train, val = split_train_val(full_train, config.val_fraction, config.seed)
        if config.mean is None or config.std is None:
            mean, std = canvas_stats(full_train, train.indices)  # type: ignore[arg-type]
        else:
            mean, std = list(config.mean), list(config.std)
        full_train.mean, full_train.std = float(mean[0]), float(std[0])
        if config.limit_train:
            train = Subset(full_train, train.indices[: config.limit_train])
        test = EvidenceCanvases(arrays["test_images"], arrays["test_labels"], config, options, "test", mean[0], std[0])
        names = [f"motif {k}" for k in range(CLASSES)] if options.task == "motif" else CLASS_NAMES
        return DataBundle(cls.name, train, val, test, num_classes=CLASSES, in_chans=1, img_size=config.img_size,
                          mean=mean, std=std, class_names=names, masks=cls.masks, source=source)
