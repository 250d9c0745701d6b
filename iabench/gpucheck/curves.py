"""Our deletion curves against ``quantus.PixelFlipping`` on the same model, images and maps: equal curves first,
then both timed in interleaved rounds (best of three), so a shared machine's load weighs on both alike."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import quantus
import torch
from torch import nn

from ..metrics import create_metric
from ..pipeline.precision import scoring
from .maps import SCORE_DRIFT, synchronize


def interleaved_best(repeats: int, fns: dict[str, Callable[[], object]],
                     device: torch.device | None = None) -> dict[str, float]:
    """Best wall time of each function over ``repeats`` rounds, the functions taking turns within a round, so that
    the load of a shared machine weighs on all of them alike (on ``device``'s CUDA work waited for; benchmarks/ uses
    it too)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            started = time.perf_counter()
            fn()
            synchronize(device)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def curves_against_quantus(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, saliency: torch.Tensor,
                           device: torch.device, repeats: int = 3) -> dict:
    """Deletion with one image row of pixels per step from zeros. Quantus takes the map once per channel and moves
    ``features_in_step`` of the C x H x W values a step, which must divide H x W: with W a step, every C-th point of
    its curve has moved the same whole pixels as ours (one row), so those points are compared, and its C-times finer
    curve costs it C times our forwards (on a one-channel image the curves are the same). Its order among equal
    values is not ours: ``saliency`` should hold no ties (e.g. the ``random`` control's uniform draws)."""
    channels, width = images.shape[1], images.shape[-1]
    metric = create_metric("deletion", step=width)
    pixel_flipping = quantus.PixelFlipping(features_in_step=width, perturb_baseline=0.0,
                                           disable_warnings=True, display_progressbar=False)
    model = model.eval()
    per_channel = np.repeat(saliency.numpy()[:, None], channels, axis=1)  # the same map for every channel
    on_device = (images.to(device), targets.to(device), saliency.to(device))

    def ours() -> np.ndarray:
        with scoring(device, metric):
            return metric(model, *on_device).curves

    def theirs() -> np.ndarray:
        return np.asarray(pixel_flipping(model=model, x_batch=images.numpy(), y_batch=targets.numpy(),
                                         a_batch=per_channel, channel_first=True, device=str(device)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Quantus' curve starts after the first step; its every C-th point has moved whole pixels
        gap = float(np.abs(ours()[:, 1:] - theirs()[:, channels - 1::channels]).max())
        times = interleaved_best(repeats, {"iabench": ours, "quantus": theirs}, device)
    steps = images.shape[-2] + 1  # one row per step, and the image itself
    return {"images": len(images), "forwards_per_image": steps, "quantus_forwards_per_image": channels * (steps - 1),
            "max_curve_difference": gap, "bound": SCORE_DRIFT, "ok": gap <= SCORE_DRIFT,
            "iabench_seconds": times["iabench"], "quantus_seconds": times["quantus"],
            "speedup_over_quantus": times["quantus"] / times["iabench"]}
