"""Cost of every explainer: forwards per image (counted), milliseconds per image and the ratio of its time to
one plain forward pass, in one run.

Builds the preset's IA-ViT (random weights, or the iabench checkpoint given by --checkpoint), explains one
batch of random images with every registered explainer (targets = the predicted classes, passed in, so no
explainer pays for an extra forward to find them) and times, in the same process, the plain forward of the
same batch (``model(x)`` in eval mode under ``torch.no_grad``), alternating with each explainer so that the
ratio is measured under the same load. Timings are medians over >= --repeats rounds after one warm-up.
Forwards are counted by a hook on the patch projection (images through it per explained image), which both the
model's own forward and the seam's (the attention and LRP methods) call; hooks travel with ``copy.deepcopy``, so
the naive LRP's copies are counted too. Backward passes are not counted: the time ratio includes them.
The issue's target: IA-ViT's explanation costs about one forward (ratio <= 1.2).
Usage: python benchmarks/bench_explainers.py [--preset vit-tiny-fmnist] [--batch 64] [--repeats 3]
       [--min-seconds 1] [--checkpoint PATH] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.models import create_model, get_preset, seam_of

OPTIONS: dict[str, dict[str, object]] = {}  # defaults for every explainer (IG: 32 steps)


def paired_timing(run: Callable[[], object], forward: Callable[[], object], repeats: int,
                  min_seconds: float) -> tuple[float, float]:
    """Median seconds of ``run`` and of ``forward``, timed alternately (one of each per round), so that the
    ratio compares the two under the same machine load (the cores are shared). At least ``repeats`` rounds
    and at least ``min_seconds`` of ``run``, after one warm-up of each."""
    run()
    forward()
    run_times: list[float] = []
    forward_times: list[float] = []
    while len(run_times) < repeats or sum(run_times) < min_seconds:
        for fn, times in ((forward, forward_times), (run, run_times)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return statistics.median(run_times), statistics.median(forward_times)


def forwards_per_image(model: torch.nn.Module, run: Callable[[], object], batch: int) -> float:
    """Images that pass through the model's patch embedding during ``run()``, per explained image."""
    images_seen = 0

    def count(module: torch.nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal images_seen
        images_seen += args[0].shape[0]

    handle = seam_of(model).patch_proj.register_forward_hook(count)  # the model's own forward and the seam's
    try:
        run()
    finally:
        handle.remove()
    return images_seen / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vit-tiny-fmnist")
    parser.add_argument("--checkpoint", type=Path, default=None, help="an iabench IA-ViT checkpoint (optional)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="at least this many timed rounds")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="and at least this long per explainer")
    parser.add_argument("--only", nargs="*", default=None, help="explainer names (default: all)")
    args = parser.parse_args()

    torch.manual_seed(0)
    config = get_preset(args.preset).model
    if args.checkpoint is not None:
        from iabench.training import load_checkpoint

        model, _ = load_checkpoint(args.checkpoint, kind="ia-vit")
        config = model.config
    else:
        model = create_model("ia-vit", dataclasses.replace(config, pretrained=""))  # random weights, offline
    model.eval()
    images = torch.randn(args.batch, config.in_chans, config.img_size, config.img_size)
    with torch.no_grad():
        target = model(images).argmax(dim=1)

    def forward() -> None:
        with torch.no_grad():
            model(images)

    rows = []
    for name in args.only or EXPLAINERS.names():
        explainer = create_explainer(name, model, **OPTIONS.get(name, {}))
        passes = forwards_per_image(model, lambda e=explainer: e.attribute(images, target), args.batch)
        seconds, forward_s = paired_timing(lambda e=explainer: e.attribute(images, target), forward, args.repeats,
                                           args.min_seconds)
        rows.append((name, passes, seconds, forward_s))
    forward_all = statistics.median(f for *_, f in rows)

    print(f"preset {args.preset}, batch {args.batch}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"medians of >= {args.repeats} rounds, each explainer timed alternately with the plain forward")
    print(f"| {'explainer':<28} | {'forwards / image':>16} | {'ms / image':>10} | {'time / forward':>14} |")
    print(f"|{'-' * 30}|{'-' * 17}:|{'-' * 11}:|{'-' * 15}:|")
    print(f"| {'forward (predictor)':<28} | {1:16.1f} | {1000 * forward_all / args.batch:10.3f} | {1.0:14.2f} |")
    for name, passes, seconds, forward_s in rows:
        print(f"| {'`' + name + '`':<28} | {passes:16.1f} | {1000 * seconds / args.batch:10.3f} | "
              f"{seconds / forward_s:14.2f} |")

if __name__ == "__main__":
    main()
