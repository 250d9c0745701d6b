"""Speed of the insertion/deletion hot path (issue: >= 0.9 of raw forward throughput, faster than
quantus.PixelFlipping, >= 3x the one-forward-per-step loop), measured side by side in one run.

On the default model (tiny preset, random weights, or --checkpoint), N images at 28x28 and the default
deletion (28-pixel steps, zeros substrate, 29 forwards per image), it times:
  (a) raw forward of the same number of images (N * 29) in batches of the metric's size (64), under
      inference_mode (other batch sizes, 16..1024, are timed too, to show the fastest);
  (b) our deletion metric;
  (c) quantus.PixelFlipping with the same curve (features_in_step=28, perturb_baseline=0.0), whose curves are
      checked equal to ours first;
  (d) the straightforward loop, one forward per step per image.
All are timed in interleaved rounds (best of --repeats), so that the load of a shared machine weighs on
all alike. Prints images/second and the ratios.
Usage: python benchmarks/bench_metrics.py [--images 32] [--repeats 3] [--step 28] [--max-batch 64]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import quantus
import torch
from timm.layers import use_fused_attn

from iabench.gpucheck.curves import interleaved_best
from iabench.metrics import create_metric
from iabench.models import create_model, get_preset
from iabench.training import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--step", type=int, default=28, help="pixels per step; must divide 784 (Quantus requires it)")
    parser.add_argument("--max-batch", type=int, default=64, help="images per forward, for ours and the raw forward")
    args = parser.parse_args()
    if 784 % args.step:
        parser.error("--step must divide 784 = 28 * 28 (Quantus' PixelFlipping requires it)")
    torch.manual_seed(0)
    if args.checkpoint:
        model, _ = load_checkpoint(args.checkpoint)
    else:
        model = create_model("vit", get_preset("vit-tiny-fmnist").model)
    model.eval()
    images = torch.randn(args.images, 1, 28, 28)
    targets = torch.randint(0, 10, (args.images,))
    saliency = torch.rand(args.images, 28, 28)
    metric = create_metric("deletion", step=args.step, max_batch=args.max_batch)
    steps = 784 // args.step + 1
    total = args.images * steps

    repeated = images.repeat_interleave(steps, 0)

    def raw_forward(size: int = args.max_batch) -> None:
        with torch.inference_mode():
            for chunk in repeated.split(size):
                model(chunk).softmax(1)

    def ours() -> None:
        metric(model, images, targets, saliency)

    pixel_flipping = quantus.PixelFlipping(features_in_step=args.step, perturb_baseline=0.0, disable_warnings=True,
                                           display_progressbar=False)

    def with_quantus() -> list:  # Quantus' own default batch_size (64)
        return pixel_flipping(model=model, x_batch=images.numpy(), y_batch=targets.numpy(),
                              a_batch=saliency.numpy()[:, None], channel_first=True, device="cpu")

    def naive() -> None:
        order = torch.sort(saliency.flatten(1), dim=1, descending=True, stable=True).indices
        with torch.inference_mode():
            for i in range(args.images):
                for k in range(0, 785, args.step):
                    current = images[i].clone().flatten()
                    current[order[i, :k]] = 0.0
                    model(current.view(1, 1, 28, 28)).softmax(1)

    fused = use_fused_attn()  # timm's own setting, which its blocks take when built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_curves = metric(model, images, targets, saliency).curves
        quantus_curves = np.asarray(with_quantus())
        # Quantus' curve starts after the first step; ours also holds the unperturbed image at x = 0.
        agree = np.allclose(ours_curves[:, 1:], quantus_curves, atol=1e-5)
        sizes = (16, 32, 128, 256, 1024)
        times = interleaved_best(args.repeats, {
            "raw forward": raw_forward, "iabench deletion": ours, "quantus PixelFlipping": with_quantus,
            "naive loop": naive, **{f"raw forward, batch {size}": (lambda size=size: raw_forward(size))
                                    for size in sizes}})
    print(f"{args.images} images x {steps} steps = {total} forwards, batches of {args.max_batch}; torch threads "
          f"{torch.get_num_threads()}; fused attention: {fused}; best of {args.repeats} interleaved rounds; "
          f"curves equal to Quantus': {agree}")
    for name, seconds in times.items():
        print(f"  {name:<26} {seconds:8.3f} s  {total / seconds:9.0f} images/s")
    fastest_name = min((n for n in times if n.startswith("raw")), key=times.get)
    ours_t = times["iabench deletion"]
    print(f"throughput vs raw forward (same batches): {times['raw forward'] / ours_t:.2f}  (target >= 0.9); vs the "
          f"fastest raw forward ({fastest_name}): {times[fastest_name] / ours_t:.2f}")
    print(f"speed-up vs quantus PixelFlipping:        {times['quantus PixelFlipping'] / ours_t:.2f}x (target > 1)")
    print(f"speed-up vs naive loop:                   {times['naive loop'] / ours_t:.2f}x (target >= 3)")


if __name__ == "__main__":
    main()
