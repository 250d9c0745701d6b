"""``python -m iabench.gpucheck``: the prepared GPU check (see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from ..data import load_dataset
from ..device import resolve_device
from ..errors import UserError
from .curves import curves_against_quantus
from .data import write_cifar10
from .maps import float32_everywhere
from .stages import Setting, configs, explain_all, score_all, train_both
from .summary import summary_lines


def parse(argv: list[str] | None) -> Setting:
    parser = argparse.ArgumentParser(
        prog="python -m iabench.gpucheck",
        description="The prepared GPU check: trains the paper suite's ViT-B/16 as ViT and IA-ViT for a few hundred "
        "steps on CIFAR-10-format data it writes itself, times a training step of each, explains 32 test images with "
        "the suite's explainers (ms per image, peak GPU memory, maps against the same machine's CPU), scores "
        "insertion and deletion (autocast drift), and times our curves against quantus.PixelFlipping. Writes "
        "OUT/gpu-check.json and OUT/gpu-check.txt; exit status 0 when every check passed, 1 when one failed.")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cuda, cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="a 32 px ViT of the CPU default's width instead of "
                        "ViT-B/16 at 224 px, and fewer steps and images (under half a minute on a CPU)")
    parser.add_argument("--out", type=Path, default=Path("reports/gpu-check"), help="where gpu-check.json, "
                        "gpu-check.txt and the written data go (default: reports/gpu-check)")
    parser.add_argument("--steps", type=int, default=None, help="training steps of each model (default 300; tiny 20)")
    parser.add_argument("--pretrained", default="", help="backbone weights: a local file or 'hub' (default: random "
                        "init, nothing is downloaded)")
    args = parser.parse_args(argv)
    steps = args.steps if args.steps is not None else (20 if args.tiny else 300)
    if steps < 2:
        raise UserError(f"--steps {steps}: train at least 2 steps")
    return Setting(device=resolve_device(args.device), tiny=args.tiny, steps=steps, images=8 if args.tiny else 32,
                   reference_images=2 if args.tiny else 4, curve_images=4 if args.tiny else 16,
                   batch=8 if args.tiny else 16, pretrained=args.pretrained, out=args.out)


def machine(device: torch.device) -> dict:
    info = {"date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "python": platform.python_version(),
            "cpu_threads": torch.get_num_threads(), "device": str(device)}
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda, gpu_memory_gib=total / 2**30,
                    gpu_free_gib=free / 2**30, bf16=torch.cuda.is_bf16_supported())
    return info


def say(line: str) -> None:
    print(f"gpucheck: {line}", file=sys.stderr, flush=True)


def run(setting: Setting) -> dict:
    float32_everywhere()
    torch.manual_seed(0)
    model_config, data_config, train_config = configs(setting)
    write_cifar10(setting.out / "data", per_batch=64 if setting.tiny else 1024, test=64 if setting.tiny else 256)
    data = load_dataset(data_config)
    started = time.perf_counter()
    report = {"machine": machine(setting.device), "tiny": setting.tiny, "image_size": model_config.img_size}
    say(f"training ViT and IA-ViT ({model_config.img_size} px), {setting.steps} steps each, on {setting.device}")
    model, report["training"] = train_both(setting, data, model_config, train_config)
    batch = [data.test[i] for i in range(setting.images)]
    images, targets = torch.stack([b[0] for b in batch]), torch.tensor([int(b[1]) for b in batch])
    say(f"explaining {setting.images} images, {setting.reference_images} of them on the CPU too")
    maps, report["explainers"] = explain_all(setting, model, images, targets)
    say("scoring insertion and deletion; then our curves against quantus.PixelFlipping")
    report["scores"] = score_all(setting, model, images, targets, maps)
    n = setting.curve_images
    report["curves"] = curves_against_quantus(model, images[:n], targets[:n], maps["random"][:n], setting.device)
    report["seconds"] = time.perf_counter() - started
    report["ok"] = (all(e["ok"] for e in report["explainers"].values()) and report["curves"]["ok"]
                    and all(s["ok"] for s in report["scores"].values()))
    return report


def main(argv: list[str] | None = None) -> int:
    try:
        setting = parse(argv)
        setting.out.mkdir(parents=True, exist_ok=True)
        report = run(setting)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (setting.out / "gpu-check.json").write_text(json.dumps(report, indent=1))
    lines = summary_lines(report)
    (setting.out / "gpu-check.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
