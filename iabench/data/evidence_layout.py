"""Where the motifs of a planted-evidence canvas go (``iabench.data.evidence``): the fixed motif shapes and one
canvas's layout, drawn from its own generator. ``options`` is the dataset's ``CanvasOptions`` (motif_size, canvas,
motifs, decoys, placement, cell)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError

CLASSES = 10
DECOY_SHAPES = 10
SHAPES_SEED = 1234  # the motifs are the same for every data seed and split: a class must not change with the seed
PLACE_TRIES = 200  # positions drawn per motif with placement 'anywhere'


def motif_shapes(size: int) -> np.ndarray:
    """The 10 class motifs then the 10 decoys, bool (20, size, size): half their pixels lit, each filling its square
    (every row and column lit), any two differing in at least a quarter of their pixels."""
    rng = np.random.default_rng([SHAPES_SEED, size])
    lit, shapes = size * size // 2, []
    while len(shapes) < CLASSES + DECOY_SHAPES:
        flat = np.zeros(size * size, dtype=bool)
        flat[rng.choice(size * size, lit, replace=False)] = True
        shape = flat.reshape(size, size)
        if shape.any(0).all() and shape.any(1).all() and all((shape ^ s).sum() >= lit // 2 for s in shapes):
            shapes.append(shape)
    return np.stack(shapes)


@dataclass(frozen=True)
class Layout:
    """Where everything of one canvas is: the garment's top-left, the motif's class and top-left, the decoys'
    shapes and top-lefts."""

    garment: tuple[int, int]
    motif_class: int
    motif: tuple[int, int]
    decoys: tuple[tuple[int, int, int], ...]  # (shape index among the decoys, top, left)
    partners: tuple[tuple[int, int, int], ...] = ()  # with data.motifs 2: the second class motif (class, top, left)


def draw_layout(footprint: np.ndarray, options: Any, rng: np.random.Generator) -> Layout:
    """A layout for a garment of this ``footprint`` (h, w) bool: motif and decoys one pixel off it and each other."""
    size, canvas = options.motif_size, options.canvas
    motif_class = int(rng.integers(CLASSES))  # drawn first: independent of everything else on the canvas
    h, w = footprint.shape
    top, left = int(rng.integers(0, canvas - h + 1)), int(rng.integers(0, canvas - w + 1))
    blocked = np.zeros((canvas + 2, canvas + 2), dtype=bool)  # padded by one: the one-pixel gap
    blocked[top:top + h + 2, left:left + w + 2] = _dilated(footprint)
    spots: list[tuple[int, int]] = []
    for candidate in _candidates(options, rng):
        y, x = candidate
        if not blocked[y:y + size + 2, x:x + size + 2].any():
            spots.append(candidate)
            blocked[y:y + size + 2, x:x + size + 2] = True
            if len(spots) == options.motifs + options.decoys:
                break
    else:
        motifs = "a motif" if options.motifs == 1 else f"{options.motifs} motifs"
        raise UserError(f"evidence-fashion-mnist: no room for {motifs} and {options.decoys} decoys beside a garment "
                        f"on a {canvas}x{canvas} canvas; use a larger data.canvas or fewer data.decoys")
    shapes = rng.integers(DECOY_SHAPES, size=options.decoys)
    decoys = tuple((int(s), y, x) for s, (y, x) in zip(shapes, spots[1:1 + options.decoys]))
    # drawn last, from the spots after the decoys': with one motif every earlier draw, so every canvas, is unchanged
    partners = tuple((int(rng.integers(CLASSES)), y, x) for y, x in spots[1 + options.decoys:])
    return Layout((top, left), motif_class, spots[0], decoys, partners)


def _dilated(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in every direction, in a frame one pixel larger on each side."""
    out = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=bool)
    for dy in range(3):
        for dx in range(3):
            out[dy:dy + mask.shape[0], dx:dx + mask.shape[1]] |= mask
    return out


def _candidates(options: Any, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Top-left corners to try, in random order: one per grid cell (at a random offset inside it) for 'cell', else
    uniform positions on the canvas."""
    size, canvas = options.motif_size, options.canvas
    if options.placement == "anywhere":
        return [(int(y), int(x)) for y, x in rng.integers(0, canvas - size + 1, size=(PLACE_TRIES, 2))]
    cells = [(cy, cx) for cy in range(canvas // options.cell) for cx in range(canvas // options.cell)]
    offsets = rng.integers(0, options.cell - size + 1, size=(len(cells), 2))
    order = rng.permutation(len(cells))
    return [(cells[i][0] * options.cell + int(offsets[i][0]), cells[i][1] * options.cell + int(offsets[i][1]))
            for i in order]
