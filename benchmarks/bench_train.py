"""Training benchmark for the CPU default (issue: vit-tiny-fmnist must reach >= 85% test accuracy,
interpreter top-1 agreement >= 90%, in <= 8 minutes per model on a 2-core CPU).

Trains the plain ViT and IA-ViT from scratch (a fresh temporary cache, so nothing is reused) and prints
test accuracy, the interpreter's accuracy and agreement, and seconds per model, plus their ratios to
the targets. Usage: python benchmarks/bench_train.py [--preset vit-tiny-fmnist] [--device cpu]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

from iabench.data import load_dataset
from iabench.device import resolve_device
from iabench.models import get_preset
from iabench.training import train_or_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vit-tiny-fmnist")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    args = parser.parse_args()
    preset = get_preset(args.preset)
    train_cfg = preset.train if args.epochs is None else dataclasses.replace(preset.train, epochs=args.epochs)
    device = resolve_device(args.device)
    data = load_dataset(preset.data)
    print(f"preset {preset.name}: {train_cfg.epochs} epochs, batch {train_cfg.batch_size}, device {device}, "
          f"torch threads {torch.get_num_threads()}, train/val/test {len(data.train)}/{len(data.val)}/{len(data.test)}")
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for kind in ("vit", "ia-vit"):
            trained = train_or_load(kind, preset.model, preset.data, train_cfg, data, device, Path(cache),
                                    progress=False)
            rows.append((kind, trained.metrics, trained.seconds))
    print(f"{'model':<8} {'test acc':>9} {'interp acc':>10} {'agreement':>9} {'seconds':>8} {'s/8min':>7}")
    for kind, metrics, seconds in rows:
        inter = metrics.get("test_inter_acc", float("nan"))
        agree = metrics.get("test_agreement", float("nan"))
        print(f"{kind:<8} {metrics['test_acc']:>9.4f} {inter:>10.4f} {agree:>9.4f} {seconds:>8.1f} "
              f"{seconds / 480:>7.2f}")
    ia = dict(rows[1][1])
    print(f"targets: acc>=0.85 {'ok' if ia['test_acc'] >= 0.85 and rows[0][1]['test_acc'] >= 0.85 else 'MISSED'}, "
          f"agreement>=0.90 {'ok' if ia['test_agreement'] >= 0.90 else 'MISSED'}, "
          f"<=480 s/model {'ok' if max(r[2] for r in rows) <= 480 else 'MISSED'}")


if __name__ == "__main__":
    main()
