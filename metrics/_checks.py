"""Checks every metric that reads a saliency map makes first: its shape, and finite, non-constant values."""

from __future__ import annotations

import warnings

import torch


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
