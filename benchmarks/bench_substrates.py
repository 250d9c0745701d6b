"""Throughput of deletion under each substrate, as a ratio of the zeros substrate's, measured side by side.

On the default model (tiny preset, random weights) and N random 28x28 images, the default deletion curve
(28-pixel steps, 29 forwards per image) is timed with each substrate in interleaved rounds (best of
--repeats), so the load of a shared machine weighs on all alike. ROAD imputes the removed pixels of every
(image, step) pair with a sparse solve, so it is expected to be the slow one; Quantus' own
noisy_linear_imputation is timed on the same pairs for comparison.
Usage: python benchmarks/bench_substrates.py [--images 32] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from bench_metrics import interleaved_best  # benchmarks/ is on sys.path when a script in it runs
from quantus.functions.perturb_func import noisy_linear_imputation

from iabench.metrics import create_metric
from iabench.metrics._perturbation import unit_ranks
from iabench.models import create_model, get_preset
from iabench.substrates import SUBSTRATES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = create_model("vit", get_preset("vit-tiny-fmnist").model).eval()
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(args.images, 1, 28, 28, generator=gen)
    saliency = torch.rand(args.images, 28, 28, generator=gen)
    targets = torch.randint(0, 10, (args.images,), generator=gen)
    metrics = {kind: create_metric("deletion", substrate=kind) for kind in SUBSTRATES}
    fns = {kind: (lambda m=m: m(model, images, targets, saliency)) for kind, m in metrics.items()}
    ranks = unit_ranks(saliency, "pixel", 1).flatten(1).numpy()
    pairs = [(i, count) for i in range(min(4, args.images)) for count in range(28, 784, 28)]

    def quantus_road() -> None:  # the removal steps of 4 images, imputed by Quantus one at a time
        for i, count in pairs:
            noisy_linear_imputation(images[i].numpy(), np.flatnonzero(ranks[i] < count), noise=0.01)

    best = interleaved_best(args.repeats, {**fns, "quantus-road-4-images": quantus_road})
    zeros = args.images / best["zeros"]
    print(f"deletion, {args.images} images of 28x28, 29 forwards each (best of {args.repeats}):")
    for kind in SUBSTRATES:
        rate = args.images / best[kind]
        print(f"  {kind:6s} {rate:8.1f} images/s   {rate / zeros:5.2f}x zeros")
    per_step_quantus = best["quantus-road-4-images"] / len(pairs) * 1000
    per_step_ours = (best["road"] - best["zeros"]) / (args.images * 28) * 1000
    print(f"  ROAD imputation per (image, step): ours {per_step_ours:.2f} ms, Quantus {per_step_quantus:.2f} ms "
          f"({per_step_quantus / max(per_step_ours, 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
