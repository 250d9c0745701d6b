"""The engine of insertion, deletion, MoRF and LeRF: move units (pixels or patches) ordered by saliency from a
start image to a finish image, and score every intermediate image.

Written by hand because the libraries that offer these curves (Quantus' PixelFlipping, RISE's reference code) run
one forward per step per image; here every (image, step) pair of a chunk is built with one vectorised comparison of
the units' ranks against the step's count, and scored in batches of up to ``max_batch`` images under
``torch.inference_mode`` with the model's ordinary (fused) forward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iabench.device import batch_size_for
from iabench.models import UnsupportedModel, seam_of
from iabench.substrates import Fill


def unit_ranks(saliency: torch.Tensor, unit: str, patch: int, descending: bool = True) -> torch.Tensor:
    """Each pixel's rank (B, H, W): the position of its unit in the saliency order. Pixels of a patch share
    their patch's rank (patch score = mean saliency). Ties keep raster order (stable sort)."""
    batch, height, width = saliency.shape
    if unit == "patch":
        if height % patch or width % patch:
            raise ValueError(f"patch size {patch} does not divide the image size {height}x{width}")
        scores = F.avg_pool2d(saliency[:, None].double(), patch).flatten(1)
    elif unit == "pixel":
        scores = saliency.flatten(1).double()
    else:
        raise ValueError(f"unit must be 'pixel' or 'patch', got '{unit}'")
    order = torch.sort(scores, dim=1, descending=descending, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    if unit == "patch":
        rows, cols = height // patch, width // patch
        ranks = ranks.view(batch, rows, 1, cols, 1).expand(batch, rows, patch, cols, patch)
    return ranks.reshape(batch, height, width)


def step_counts(n_units: int, step: int | None = None, fraction: float | None = None) -> list[int]:
    """Units moved after each step, from 0 to n_units: every ``step`` units, or every ``fraction`` of them."""
    if fraction is not None:
        steps = round(1 / fraction)
        return sorted({min(n_units, round(i * fraction * n_units)) for i in range(steps + 1)} | {n_units})
    step = max(1, int(step or 1))
    return [min(i * step, n_units) for i in range(math.ceil(n_units / step) + 1)]


@torch.inference_mode()
def perturbation_curves(model: nn.Module, start: torch.Tensor, finish: torch.Tensor, ranks: torch.Tensor,
                        counts: Sequence[int], targets: torch.Tensor, max_batch: int = 64,
                        score: str = "probability", fill: Fill | None = None) -> np.ndarray:
    """(B, len(counts)) scores: for step s, the pixels whose rank < counts[s] come from ``finish``, the rest
    from ``start`` (or ``fill`` builds the images, for substrates that depend on the step); score = softmax
    probability of the target (or 1/0 top-1 correctness)."""
    was_training = model.training
    model.eval()
    try:
        batch = start.shape[0]
        counts_t = torch.as_tensor(list(counts), device=start.device)
        pairs = torch.cartesian_prod(torch.arange(batch, device=start.device),
                                     torch.arange(len(counts), device=start.device))
        out = torch.empty(batch, len(counts), dtype=torch.float64)
        for chunk in pairs.split(max(1, max_batch)):
            sample, step = chunk[:, 0], chunk[:, 1]
            moved = (ranks[sample] < counts_t[step][:, None, None])[:, None]
            images = torch.where(moved, finish[sample], start[sample]) if fill is None else fill(sample, step, moved)
            logits = model(images).float()
            if score == "accuracy":
                values = (logits.argmax(1) == targets[sample]).double()
            else:
                values = logits.softmax(1).gather(1, targets[sample][:, None])[:, 0].double()
            out[sample.cpu(), step.cpu()] = values.cpu()
        return out.numpy()
    finally:
        model.train(was_training)


def default_max_batch(model: nn.Module, images: torch.Tensor) -> int:
    """Images per forward when not given: 64 on CPU (the measured optimum for the tiny model on 2 cores:
    5,400 images/s at 64 vs 3,200 at 1,024); on CUDA as many as half the free memory holds (estimated from
    the ViT's attention maps and a few token copies per image, at most 1,024)."""
    if images.device.type != "cuda":
        return 64
    try:
        seam = seam_of(model)
        tokens, width, heads = seam.num_patches + seam.num_prefix_tokens, seam.width, seam.num_heads
    except UnsupportedModel:  # not a ViT: budget by the image size alone
        tokens, width, heads = images[0].numel(), 8, 0
    return batch_size_for(images.device, 128, 4 * (heads * tokens * tokens + 8 * tokens * width))


def area(curves: np.ndarray, x: np.ndarray, how: str) -> np.ndarray:
    """Per-curve area: trapezoid rule over x in [0, 1], or the plain mean of the step scores (the IA-ViT
    notebook's number)."""
    if how == "trapezoid":
        return np.trapezoid(curves, x, axis=1)
    if how == "mean":
        return curves.mean(axis=1)
    raise ValueError(f"auc must be 'trapezoid' or 'mean', got '{how}'")
