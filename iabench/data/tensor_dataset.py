"""An in-memory image dataset (uint8 tensors) with resize, normalisation and optional augmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


class ImageTensorDataset(Dataset):
    """Images (N, C, H, W) uint8 and labels (N,), served normalised as float32 (C, S, S), with masks (N, H, W) by
    name when given (items are then (image, label, {name: mask})).

    Small datasets (Fashion-MNIST: 47 MB) are kept as one uint8 tensor: indexing it is far cheaper
    than decoding files per item, which matters for CPU training.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: list[float], std: list[float],
                 img_size: int | None = None, masks: dict[str, torch.Tensor] | None = None) -> None:
        if images.ndim == 3:
            images = images[:, None]
        self.images = images
        self.labels = labels.long()
        self.masks = masks
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.img_size = img_size or images.shape[-1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        image = self.images[index].float().div_(255.0)
        if image.shape[-1] != self.img_size or image.shape[-2] != self.img_size:
            image = F.interpolate(image[None], size=(self.img_size, self.img_size), mode="bilinear",
                                  align_corners=False)[0]
        image = (image - self.mean) / self.std
        if self.masks is None:
            return image, int(self.labels[index])
        return image, int(self.labels[index]), {name: self._resized(masks[index]) for name, masks in self.masks.items()}

    def _resized(self, mask: torch.Tensor) -> torch.Tensor:
        if mask.shape[-1] == self.img_size:
            return mask
        return F.interpolate(mask[None, None].float(), size=(self.img_size, self.img_size), mode="nearest")[0, 0] > 0.5


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images (N, C, H, W) or (N, H, W), in [0, 1] units."""
    if images.ndim == 3:
        images = images[:, None]
    x = images.float().div(255.0).transpose(0, 1).reshape(images.shape[1], -1)
    return [round(v, 4) for v in x.mean(1).tolist()], [round(v, 4) for v in x.std(1).tolist()]
