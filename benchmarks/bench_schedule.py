"""Accuracy versus training time of a preset: both models trained from scratch for each number of epochs.

For every value of --epochs, the plain ViT and IA-ViT of the preset are trained side by side (one process each,
as `iabench run --jobs 2` does) into a fresh cache, with the preset's recipe otherwise unchanged (the
cosine schedule follows the number of epochs). Prints one row per (epochs, model): training seconds, test
accuracy, and for IA-ViT the interpreter's accuracy and agreement: the curve the default was chosen on.
Usage: python benchmarks/bench_schedule.py [--preset vit-tiny-fmnist] [--epochs 2 3 4 6] [--batch-size B] [--lr LR]
       [--warmup-steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

from iabench.models import get_preset
from iabench.training.parallel import TrainJob, train_in_parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vit-tiny-fmnist")
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 3, 4, 6])
    parser.add_argument("--jobs", type=int, default=2, help="processes training at once (default 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    parser.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    parser.add_argument("--warmup-steps", type=int, default=None, help="override the preset's warm-up steps")
    args = parser.parse_args()
    preset = get_preset(args.preset)
    overrides = (("batch_size", args.batch_size), ("lr", args.lr), ("warmup_steps", args.warmup_steps))
    changes = {k: v for k, v in overrides if v is not None}
    preset = dataclasses.replace(preset, train=dataclasses.replace(preset.train, **changes))
    print(f"preset {preset.name}: batch {preset.train.batch_size}, lr {preset.train.lr}, "
          f"warm-up {preset.train.warmup_steps} steps, {args.jobs} processes")
    print(f"{'epochs':>6} {'model':<7} {'seconds':>8} {'test acc':>9} {'interp acc':>10} {'agreement':>9}", flush=True)
    for epochs in args.epochs:
        train = dataclasses.replace(preset.train, epochs=epochs)
        jobs = [TrainJob(f"{kind}/{epochs}", kind, preset.model, train) for kind in ("ia-vit", "vit")]
        with tempfile.TemporaryDirectory() as cache:
            train_in_parallel(jobs, preset.data, preset.data, Path(cache), args.jobs, progress=False)
            for path in sorted(Path(cache, "models").glob("*.pt")):
                payload = torch.load(path, map_location="cpu", weights_only=True)
                metrics = payload["metrics"]
                print(f"{epochs:>6} {payload['kind']:<7} {metrics['train_seconds']:>8.0f} {metrics['test_acc']:>9.4f} "
                      f"{metrics.get('test_inter_acc', float('nan')):>10.4f} "
                      f"{metrics.get('test_agreement', float('nan')):>9.4f}", flush=True)


if __name__ == "__main__":
    main()
