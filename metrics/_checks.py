"""What the metrics share, so that no metric imports another: the checks every metric that reads a saliency map
makes first (its shape, finite and non-constant values), and the sums of a map over the model's patches."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from iabench.models import patch_size_of


def check_saliency(saliency: torch.Tensor, who: str,
                   consequence: str = "its units are taken in raster order") -> torch.Tensor:
    """NaN/inf saliency is an error (no silent wrong number); a constant map (e.g. all zero) is warned
    about, naming the ``consequence`` (curve metrics: the stable sort takes its units in raster order,
    top-left first). Returns the (B,) mask of constant maps."""
    flat = saliency.flatten(1)
    if not torch.isfinite(flat).all():
        bad = (~torch.isfinite(flat).all(1)).nonzero().flatten().tolist()
        raise ValueError(f"{who}: saliency of sample(s) {bad} has NaN or inf values; it cannot be ranked")
    constant = (flat.amax(1) - flat.amin(1)) == 0
    if constant.any():
        warnings.warn(f"{who}: saliency of sample(s) {constant.nonzero().flatten().tolist()} is constant "
                      f"(e.g. all zero); {consequence}", RuntimeWarning, stacklevel=3)
    return constant


def check_shapes(images: torch.Tensor, saliency: torch.Tensor, who: str) -> None:
    """Images (B, C, H, W) and saliency (B, H, W) of the same B, H, W (a patch-grid map must be upsampled
    first, e.g. with ``iabench.baselines.upsample_patch_map``)."""
    if images.dim() != 4 or saliency.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(f"{who}: saliency must be (B, H, W) = {(images.shape[0], *images.shape[-2:])} for images "
                         f"{tuple(images.shape)}, got {tuple(saliency.shape)}")


def patch_sums(maps: torch.Tensor, patch: tuple[int, int]) -> torch.Tensor:
    """(B, H, W) -> (B, P) float64: each non-overlapping patch's sum, patches in raster order."""
    batch, height, width = maps.shape
    if height % patch[0] or width % patch[1]:
        raise ValueError(f"patch size {patch} does not divide the image size {height}x{width}")
    # reshape-and-sum adds exactly the patch's pixels (no mean-times-area rounding)
    grid = maps.double().reshape(batch, height // patch[0], patch[0], width // patch[1], patch[1])
    return grid.sum(dim=(2, 4)).flatten(1)


def check_map(images: torch.Tensor, saliency: torch.Tensor | None, who: str) -> None:
    """A (B, H, W) map of the images' size with finite values, else a ValueError naming the metric."""
    if saliency is None:
        raise ValueError(f"{who} needs saliency maps")
    check_shapes(images, saliency, who)
    if not torch.isfinite(saliency).all():
        raise ValueError(f"{who}: saliency has NaN or inf values")


def evidence_grid(magnitude: torch.Tensor, masks: torch.Tensor, model: nn.Module,
                  resolution: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A map's |s| (B, H, W) and its masks (B, H, W) as the ground-truth scores read them: per pixel ((B, H*W), the
    mask 0/1), or per patch of the model's grid ((B, P): each patch's sum of |s| and its share of evidence pixels),
    so that a patch map is judged at its own resolution."""
    if resolution == "pixel":
        return magnitude.double().flatten(1), masks.double().flatten(1)
    patch = patch_size_of(model)
    return patch_sums(magnitude, patch), patch_sums(masks.double(), patch) / (patch[0] * patch[1])
