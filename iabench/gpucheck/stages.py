"""The check's stages: training both models, explaining with the ``paper`` suite's explainers, scoring, and our curves
against ``quantus.PixelFlipping`` on the same maps."""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..baselines import create_explainer
from ..config import DataConfig, ModelConfig, TrainConfig
from ..data import DataBundle
from ..metrics import create_metric
from ..models import get_preset
from ..pipeline.precision import scoring
from ..suites import load_suite
from ..training import train
from .maps import SCORE_DRIFT, explain_in_batches, map_agreement, timed

# the noisy ones, compared by correlation; RISE with 250 masks, so that its CPU reference of a ViT-B/16 takes seconds
EXTRA_EXPLAINERS = {"smoothgrad": {}, "rise": {"n_masks": 250}}


@dataclass(frozen=True)
class Setting:
    device: torch.device
    tiny: bool
    steps: int  # training steps of each model
    images: int  # test images explained and scored
    reference_images: int  # of those, explained on the CPU too
    curve_images: int  # scored by our curves and by Quantus
    batch: int
    pretrained: str
    out: Path


def configs(setting: Setting) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """The ``vit-b16`` preset (224 px, random init unless --pretrained) or, with ``tiny``, a 32 px ViT of the CPU
    default's width; CIFAR-10-format data under OUT/data."""
    preset = get_preset("vit-b16")
    root = str(setting.out / "data")
    if setting.tiny:
        model = dataclasses.replace(get_preset("vit-tiny-fmnist").model, img_size=32, patch_size=8, in_chans=3,
                                    num_classes=10)
        data = dataclasses.replace(preset.data, root=root, img_size=32, augment=False)
    else:
        model = dataclasses.replace(preset.model, pretrained=setting.pretrained)
        data = dataclasses.replace(preset.data, root=root)
    trained = dataclasses.replace(preset.train, max_steps=setting.steps, warmup_steps=min(50, setting.steps // 2),
                                  batch_size=16 if setting.tiny else 64, eval_images=256,
                                  num_workers=0 if setting.tiny else min(8, os.cpu_count() or 1))
    return model, data, trained


def train_both(setting: Setting, data: DataBundle, model: ModelConfig, config: TrainConfig) -> tuple[nn.Module, dict]:
    """The IA-ViT (returned) and the plain ViT, each trained ``steps`` steps; ms per step and test accuracy."""
    report, ia_vit = {}, None
    for kind in ("vit", "ia-vit"):
        trained, test, history = train(kind, model, data, config, setting.device, progress=False)
        steps = int(history[-1]["step"])
        report[kind] = {"steps": steps, "ms_per_step": 1000 * sum(h["seconds"] for h in history) / steps,
                        "test_accuracy": test.metrics["test_acc"], "last_loss": history[-1]["loss"]}
        ia_vit = trained if kind == "ia-vit" else ia_vit
    report["ia_vit_step_over_vit_step"] = report["ia-vit"]["ms_per_step"] / report["vit"]["ms_per_step"]
    return ia_vit, report  # type: ignore[return-value]


def explain_all(setting: Setting, model: nn.Module, images: torch.Tensor,
                targets: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict]:
    """Each explainer's maps of ``images`` on the device (ms per image, peak memory) and its agreement with the CPU's
    maps of the first ``reference_images``."""
    cpu_model = copy.deepcopy(model).cpu().eval()
    model = model.eval()
    ref = slice(0, setting.reference_images)
    maps, report = {}, {}
    wanted = [(s.label, s.name, s.options) for s in load_suite("paper").explainers]
    for label, name, options in [*wanted, *((name, name, o) for name, o in EXTRA_EXPLAINERS.items())]:
        try:
            report[label], maps[label] = explain_one(setting, name, options, model, cpu_model, images, targets, ref)
        except Exception as error:  # noqa: BLE001 - one explainer's failure is a finding; the check goes on
            report[label] = {"error": f"{type(error).__name__}: {error}", "ok": False}
    return maps, report


def explain_one(setting: Setting, name: str, options: dict, model: nn.Module, cpu_model: nn.Module,
                images: torch.Tensor, targets: torch.Tensor, ref: slice) -> tuple[dict, torch.Tensor]:
    explainer = create_explainer(name, model, **options)
    on_device = (images.to(setting.device), targets.to(setting.device))
    maps, seconds, peak = timed(setting.device, lambda: explain_in_batches(explainer, *on_device, setting.batch))
    reference = explain_in_batches(create_explainer(name, cpu_model, **options), images[ref], targets[ref],
                                   setting.batch)
    entry = {"ms_per_image": 1000 * seconds / len(images), "peak_memory_mib": peak,
             **map_agreement(name, reference, maps[ref])}
    return entry, maps.detach().float().cpu()


def score_all(setting: Setting, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
              maps: dict[str, torch.Tensor]) -> dict:
    """Insertion and deletion of every explainer's maps on the device as the run scores them (fp16 autocast on CUDA)
    and their largest drift from float32 on the same device over the reference images. The drift compares the same
    batch (the reference images) under both precisions: scored within a larger batch, the same images' float sums
    can differ in their last bits on some machines, which is not what autocast does to them."""
    ref, device = slice(0, setting.reference_images), setting.device
    images, targets = images.to(device), targets.to(device)
    report = {}
    for name in ("insertion", "deletion"):
        metric = create_metric(name)
        drift, means = 0.0, {}
        for label, saliency in maps.items():
            saliency = saliency.to(device)
            with scoring(device, metric):
                scores = metric(model, images, targets, saliency).scores
                mixed = metric(model, images[ref], targets[ref], saliency[ref]).scores
            full = metric(model, images[ref], targets[ref], saliency[ref]).scores
            drift = max(drift, float(np.abs(mixed - full).max()))
            means[label] = float(np.mean(scores))
        report[name] = {"mean_auc": means, "max_drift_from_float32": drift, "bound": SCORE_DRIFT,
                        "ok": drift <= SCORE_DRIFT}
    return report
