"""The evaluated images of a run: drawn once from the split, in index order, with their labels and masks."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch

from ..data import DataBundle
from ..errors import UserError

log = logging.getLogger("iabench")

@dataclass
class Samples:
    """The evaluated images of one split: dataset indices, normalised images, labels, masks."""

    indices: list[int]
    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None  # the evidence mask (the dataset's first), what localisation scores against
    named_masks: dict[str, torch.Tensor] = field(default_factory=dict)  # every mask the dataset declares, by name

    def masks_of(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        """The masks of samples [start, stop): the evidence mask under "" and every named mask under its name."""
        out = {name: mask[start:stop] for name, mask in self.named_masks.items()}
        return out if self.masks is None else {"": self.masks[start:stop], **out}

    def chunks(self, size: int) -> list[tuple[int, int]]:
        """(start, stop) of consecutive chunks of at most ``size`` samples."""
        n = len(self.indices)
        return [(start, min(start + size, n)) for start in range(0, n, size)]


def draw_samples(dataset: object, count: int, seed: int, where: str) -> Samples:
    """``count`` items of ``dataset`` drawn without replacement from ``seed``, in ascending index order; items are
    (image, label) or (image, label, masks by name), see ``iabench.data``."""
    n = len(dataset)  # type: ignore[arg-type]
    if not 0 < count <= n:
        raise UserError(f"--samples {count} is more than {where} holds ({n}); use at most {n}" if count > n else
                        f"--samples {count}: use 1 to {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count].sort().values.tolist()
    items = [dataset[i] for i in order]  # type: ignore[index]
    images = torch.stack([item[0] for item in items])
    labels = torch.tensor([int(item[1]) for item in items])
    masks, named = None, {}
    if len(items[0]) > 2 and isinstance(items[0][2], dict):  # masks by name: the first is the evidence mask
        named = {name: torch.stack([item[2][name] for item in items]).bool() for name in items[0][2]}
        masks = next(iter(named.values()))
    elif len(items[0]) > 2:  # a user's own (image, label, mask) dataset
        masks = torch.stack([torch.as_tensor(item[2]) for item in items]).bool()
    return Samples(order, images, labels, masks, named)


def select_samples(data: DataBundle, split: str, count: int, seed: int) -> Samples:
    """``count`` images of ``split`` drawn from ``seed`` (see ``draw_samples``); every image of the split, with
    one log line saying so, when it holds fewer."""
    dataset = data.test if split == "test" else data.val
    available = len(dataset)  # type: ignore[arg-type]
    if count > available > 0:
        log.info("--samples %d: the %s split holds %d images; evaluating all %d", count, split, available, available)
        count = available
    return draw_samples(dataset, count, seed, f"the {split} split")
