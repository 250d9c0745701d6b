"""Randomness that belongs to an image, not to a batch: a generator seeded by the image's bytes, so a map or
substrate drawn for an image is the same whether the image is processed alone or in any batch."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import numpy as np
import torch


def image_generator(image: torch.Tensor, seed: int, salt: int | None = None) -> torch.Generator:
    """A CPU generator seeded by ``image``'s bytes, ``seed`` and, when given, ``salt`` (a second stream for the
    same image and seed, e.g. one per curve step)."""
    data = image.detach().cpu().contiguous().numpy().tobytes() + int(seed).to_bytes(8, "little", signed=True)
    if salt is not None:
        data += int(salt).to_bytes(8, "little")
    digest = hashlib.sha256(data).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


@contextlib.contextmanager
def numpy_seeded_by(*tensors: torch.Tensor) -> Iterator[None]:
    """numpy's global generator seeded by the tensors' bytes inside the block, its state restored after. For
    libraries that draw from it and take no seed (Quantus' FaithfulnessCorrelation draws its pixel subsets there):
    the same images give the same draws in every run, and every explainer of a batch meets the same subsets."""
    data = b"".join(t.detach().cpu().contiguous().numpy().tobytes() for t in tensors)
    state = np.random.get_state()
    np.random.seed(int.from_bytes(hashlib.sha256(data).digest()[:4], "little"))
    try:
        yield
    finally:
        np.random.set_state(state)
