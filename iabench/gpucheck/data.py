"""CIFAR-10-format files written by the check itself (no download): the python pickles of ``cifar-10-batches-py``,
images whose class sets their colour and the place of a bright square, so that a few hundred steps learn something."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def class_images(count: int, seed: int) -> dict:
    """``count`` 32x32 RGB images (CIFAR's row layout: 3072 bytes, channels first) and their labels 0..9."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = rng.integers(0, 96, (count, 3, 32, 32), dtype=np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, label % 3, 4 + 14 * row: 14 + 14 * row, 1 + 6 * col: 7 + 6 * col] = 255
    return {"data": images.reshape(count, -1), "labels": [int(v) for v in labels]}


def write_cifar10(root: Path, per_batch: int, test: int, seed: int = 0) -> Path:
    """ROOT/cifar-10-batches-py with five training batches of ``per_batch`` images and ``test`` test images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(class_images(per_batch, seed + i)))
    (folder / "test_batch").write_bytes(pickle.dumps(class_images(test, seed + 99)))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class {i}" for i in range(10)]}))
    return root
