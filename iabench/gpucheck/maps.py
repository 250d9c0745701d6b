"""Explainers on a device against the same machine's CPU: the maps' agreement, ms per image and peak GPU memory."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

# Deterministic explainers: max |device map - CPU map| / max |CPU map| at most this, with TF32 off (torch's default
# for matrix products; the check turns it off for cuDNN's convolutions too, so the patch embedding is float32 too).
MAP_TOLERANCE = 1e-3
# SmoothGrad draws its noise with the device's generator (another stream than the CPU's) and RISE sums a thousand
# masked forwards: the lowest per-image Pearson correlation of device and CPU maps must reach this.
NOISY_CORRELATION = 0.9
NOISY = ("smoothgrad", "rise")
# Scores under the scoring stage's fp16 autocast on CUDA against float32 on the CPU (pipeline/precision.py)
SCORE_DRIFT = 1e-3


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """The lowest per-image Pearson correlation of two (B, H, W) stacks (1.0 for two constant maps that are equal)."""
    a, b = a.double().flatten(1), b.double().flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    norms = a.norm(dim=1) * b.norm(dim=1)
    r = torch.where(norms > 0, (a * b).sum(1) / norms.clamp_min(1e-300), (a == b).all(1).double())
    return float(r.min())


def map_agreement(name: str, cpu_maps: torch.Tensor, device_maps: torch.Tensor) -> dict:
    """How far the device's maps are from the CPU's: a relative max difference (deterministic explainers) or the
    lowest per-image correlation (``NOISY``), with its bound and whether it holds."""
    cpu, device = cpu_maps.double().cpu(), device_maps.double().cpu()
    if name in NOISY:
        value = pearson(cpu, device)
        return {"measure": "lowest per-image correlation", "value": value, "bound": NOISY_CORRELATION,
                "ok": value >= NOISY_CORRELATION}
    scale = float(cpu.abs().max())
    value = float((device - cpu).abs().max()) / (scale if scale > 0 else 1.0)
    return {"measure": "max difference / max |CPU map|", "value": value, "bound": MAP_TOLERANCE,
            "ok": value <= MAP_TOLERANCE}


def float32_everywhere() -> None:
    """TF32 off for matrix products and cuDNN's convolutions (the patch embedding), process-wide: the maps are
    compared in float32, so the comparison is of our code, not of TF32's 10-bit mantissa."""
    torch.set_float32_matmul_precision("highest")
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):  # torch >= 2.9
        conv.fp32_precision = "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = False


def synchronize(device: torch.device | None) -> None:
    """Wait for ``device``'s queued CUDA work (nothing to wait for on the CPU or without a device)."""
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, work: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float, float | None]:
    """(work's result, its wall seconds, the peak GPU memory it reached in MiB; None off CUDA)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    synchronize(device)
    started = time.perf_counter()
    result = work()
    synchronize(device)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return result, seconds, peak


def explain_in_batches(explainer: object, images: torch.Tensor, targets: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([explainer.attribute(images[i:i + batch], targets[i:i + batch])  # type: ignore[attr-defined]
                      for i in range(0, len(images), batch)])
