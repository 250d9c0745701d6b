"""Helpers several test modules share: a micro suite and its run folder, models whose right answer is known
(a linear evidence model, fixed logits), a plain gradient explainer, hand-made run files, Fashion-MNIST files
written in their IDX format."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

import iabench.data.fashion_mnist as fm
from iabench.refresh import explainer_records, metric_records

MICRO_SUITE = {
    "description": "micro suite for tests",
    "preset": "vit-tiny-fmnist",
    "data": {"name": "synthetic", "img_size": 16, "limit_train": 256},
    "model": {"img_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2},
    "train": {"epochs": 1, "batch_size": 32, "warmup_steps": 2},
    "models": ["vit", "ia-vit"],
    "samples": 12,
    "batch_size": 4,
    "heatmap_images": 3,
    "explainers": ["ia-vit", "attention", "random"],
    "metrics": ["insertion", "deletion", "accuracy", "agreement"],
}


def write_suite(path: Path, **changes: object) -> Path:
    path.write_text(yaml.safe_dump({**MICRO_SUITE, **changes}))
    return path


def only_run_dir(out: Path) -> Path:
    dirs = [p for p in out.glob("*/*") if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


class LinearEvidence(nn.Module):
    """logit_1 = sum of w * x, logit_0 = 0: the evidence for class 1 is exactly w * x."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evidence = (x[:, 0] * self.weights).flatten(1).sum(1)
        return torch.stack([torch.zeros_like(evidence), evidence], dim=1)


def gradient_explain(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """A plain gradient map (B, H, W), max |d logit / d x| over channels: the explain_fn of the sanity tests,
    independent of baselines/."""
    images = images.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        model(images).gather(1, targets[:, None]).sum().backward()
    return images.grad.abs().amax(1)


SEEDS, SAMPLES = (0, 1), 30
# (model, explainer) -> level per metric. IA-ViT's interpreter is planted best on deletion (lower) and insertion
# (higher); vit/random is best on sparseness (higher), so the bold cells are not all in one row.
LEVELS = {
    ("ia-vit", "ia-vit"): {"deletion": 0.20, "insertion": 0.80, "sparseness": 0.50},
    ("ia-vit", "attention"): {"deletion": 0.40, "insertion": 0.60, "sparseness": 0.50},  # sparseness: null
    ("ia-vit", "random"): {"deletion": 0.45, "insertion": 0.55, "sparseness": 0.30},
    ("vit", "attention"): {"deletion": 0.42, "insertion": 0.58, "sparseness": 0.40},
    ("vit", "random"): {"deletion": 0.47, "insertion": 0.53, "sparseness": 0.90},
    ("vit", "rollout"): {"deletion": 0.41, "insertion": 0.59, "sparseness": 0.35},
}


METRICS_INFO = metric_records({
    "deletion": {"direction": "lower", "display_name": "Deletion", "reference": "RISE", "auc": "trapezoid"},
    "insertion": {"direction": "higher", "display_name": "Insertion", "reference": "RISE", "auc": "trapezoid"},
    "sparseness": {"direction": "higher", "display_name": "Sparseness", "reference": "Gini", "auc": None},
    "accuracy": {"direction": "higher", "display_name": "Accuracy", "reference": "", "auc": None},
    "agreement-kl": {"direction": "lower", "display_name": "Agreement (kl)", "reference": "IA-ViT", "auc": None},
})


def write_run(path, optional: bool = True) -> None:
    """results.csv (rows shuffled: pairing must go by (seed, sample), not by position), metrics.json and,
    when ``optional``, curves.csv, explainers.json, training.csv, heatmaps.npz, manifest.json."""
    rng = np.random.default_rng(0)
    rows, curves = [], []
    for seed in SEEDS:
        for (model, explainer), levels in LEVELS.items():
            for metric, level in levels.items():
                values = level + rng.normal(0, 0.03, SAMPLES)
                rows += [("r", seed, model, explainer, metric, s, v) for s, v in enumerate(values)]
                if metric in ("deletion", "insertion"):
                    for s in range(SAMPLES):
                        for x in np.linspace(0, 1, 5):
                            y = 1 - x * (1 - level) if metric == "deletion" else level * x + 0.1 * (1 - x)
                            curves.append(("r", seed, model, explainer, metric, s, x, y + rng.normal(0, 0.02)))
        for model in ("vit", "ia-vit"):
            rows += [("r", seed, model, "-", "accuracy", s, float(s % 3 > 0)) for s in range(SAMPLES)]
        rows += [("r", seed, "ia-vit", "-", "agreement-kl", s, 0.1 + 0.01 * s) for s in range(SAMPLES)]
    frame = pd.DataFrame(rows, columns=["run", "seed", "model", "explainer", "metric", "sample", "value"])
    # ia-vit/random deletion equals the interpreter's exactly on every (seed, sample): all-zero differences
    ref = frame[(frame.model == "ia-vit") & (frame.explainer == "ia-vit") & (frame.metric == "deletion")]
    copy = (frame.model == "vit") & (frame.explainer == "rollout") & (frame.metric == "deletion")
    frame.loc[copy, "value"] = ref["value"].to_numpy()
    failed = frame.index[(frame.model == "vit") & (frame.explainer == "random") & (frame.metric == "insertion")][:2]
    frame.loc[failed, "value"] = np.nan  # two failed explanations
    frame = frame.sample(frac=1.0, random_state=1)
    frame.to_csv(path / "results.csv", index=False)
    (path / "metrics.json").write_text(json.dumps(METRICS_INFO))
    if not optional:
        return
    pd.DataFrame(curves, columns=["run", "seed", "model", "explainer", "metric", "sample", "x", "value"]).to_csv(
        path / "curves.csv", index=False)
    (path / "explainers.json").write_text(json.dumps(explainer_records({
        "ia-vit": {"display_name": "IA-ViT interpreter", "family": "attention", "reference": "Qiang 2023"},
        "attention": {"display_name": "Last-layer attention", "family": "attention", "reference": "-"},
        "rollout": {"display_name": "Attention rollout", "family": "attention", "reference": "Abnar 2020"},
        "random": {"display_name": "Random", "family": "control", "reference": "-"}})))
    training = [(seed, model, epoch, 10 * epoch, 1.0, 2.0 / epoch, 1.5 / epoch,
                 0.1 if model == "ia-vit" else None, 0.2 if model == "ia-vit" else None, 0.3 * epoch,
                 0.25 * epoch if model == "ia-vit" else None, 0.5 if model == "ia-vit" else None)
                for seed in SEEDS for model in ("vit", "ia-vit") for epoch in (1, 2, 3)]
    pd.DataFrame(training, columns=["seed", "model", "epoch", "step", "seconds", "loss", "ce", "kd", "align",
                                    "val_acc", "val_inter_acc", "val_agreement"]).to_csv(path / "training.csv",
                                                                                         index=False)
    images = rng.random((3, 1, 16, 16)).astype(np.float32)
    np.savez_compressed(path / "heatmaps.npz", images=images, labels=np.array([1, 2, 3]),
                        **{"ia-vit__ia-vit": rng.random((3, 4, 4)),  # a patch grid: stretched over the image
                           "ia-vit__attention": rng.random((3, 16, 16)) * 100,
                           "vit__attention": np.zeros((3, 16, 16))})  # constant map: no division by zero
    (path / "manifest.json").write_text(json.dumps({
        "suite": "synthetic", "run_id": "r", "config_hash": "abc123", "device": "cpu", "git_commit": "deadbeef",
        "versions": {"torch": "2"}, "timings": {"train": 1.0, "total": 2.0}, "config": {"seeds": [0, 1]}}))


def models_json(seeds=(0, 1, 2), acc_ia=(0.851, 0.853, 0.850), acc_vit=(0.850, 0.852, 0.848),
                ablation: bool = False) -> dict:
    info = {"vit": {"kind": "vit", "baseline": "", "description": "plain ViT",
                    "seeds": {str(s): {"test_acc": a} for s, a in zip(seeds, acc_vit)}},
            "ia-vit": {"kind": "ia-vit", "baseline": "vit", "description": "IA-ViT as in the paper",
                       "seeds": {str(s): {"test_acc": a} for s, a in zip(seeds, acc_ia)}}}
    if ablation:
        info["ia-vit-no-align"] = {"kind": "ia-vit", "baseline": "ia-vit", "description": "no alignment term",
                                   "seeds": {}}
    return info


class FixedLogits(nn.Module):
    """Returns given logits, one row per image (by batch position); records whether grad was enabled and
    the mode it ran in."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits, self.grad_enabled, self.modes = logits, [], []
        self.weight = nn.Parameter(torch.ones(()))  # a parameter, so a forward under grad builds a graph

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.grad_enabled.append(torch.is_grad_enabled())
        self.modes.append(self.training)
        return self.logits[: images.shape[0]] * self.weight


def write_idx(path: Path, array: np.ndarray, compress: bool) -> Path:
    """An IDX file as distributed (big-endian dims after the 0x00 0x00 0x08 ndim magic), optionally .gz."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def fmnist_arrays(n_train: int = 40, n_test: int = 10, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Item-like images: a random blob of ink on a black background (as Fashion-MNIST), random labels."""
    rng = np.random.default_rng(seed)

    def items(n: int) -> np.ndarray:
        x = np.zeros((n, 28, 28), dtype=np.uint8)
        for i in range(n):
            t, left, h, w = rng.integers(2, 8), rng.integers(2, 8), rng.integers(12, 19), rng.integers(12, 19)
            x[i, t:t + h, left:left + w] = rng.integers(1, 256, (h, w))
        return x

    return items(n_train), rng.integers(0, 10, n_train), items(n_test), rng.integers(0, 10, n_test)


def write_fmnist(root: Path, compress: bool = True, **kw: int) -> tuple[np.ndarray, ...]:
    arrays = fmnist_arrays(**kw)
    root.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(fm.FILES.values(), arrays):
        write_idx(root / stem, array, compress)
    return arrays


# planted rankings for the stability and critical-difference tests
CD_EXPLAINERS = ["a", "b", "c", "d"]
CD_INFO = metric_records({
    "deletion": {"name": "deletion", "direction": "lower", "substrate": "zeros"},
    "deletion-blur": {"name": "deletion", "direction": "lower", "substrate": "blur"},
    "insertion": {"name": "insertion", "direction": "higher", "substrate": "zeros"},
    "sparseness": {"name": "sparseness", "direction": "higher", "substrate": None},
})


def planted(noise: float = 0.01, seeds: tuple[int, ...] = (0, 1), images: int = 40) -> pd.DataFrame:
    """Explainer a best ... d worst on deletion (lowest) and insertion (highest); deletion-blur reverses the
    order; sparseness ranks a, b, c, d as b best then a, c, d."""
    rng = np.random.default_rng(0)
    quality = {"a": 3, "b": 2, "c": 1, "d": 0}
    levels = {"deletion": lambda q: 0.5 - 0.1 * q, "insertion": lambda q: 0.2 + 0.1 * q,
              "deletion-blur": lambda q: 0.2 + 0.1 * q, "sparseness": lambda q: {3: 0.5, 2: 0.6, 1: 0.4, 0: 0.3}[q]}
    rows = [(seed, "m", e, metric, s, level(quality[e]) + rng.normal(0, noise))
            for seed in seeds for metric, level in levels.items() for e in CD_EXPLAINERS for s in range(images)]
    rows += [(seed, "m", "-", "accuracy", s, 1.0) for seed in seeds for s in range(images)]
    return pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
