"""Stage 5, artifacts: the run files the report is rebuilt from, written atomically.

metrics.json and explainers.json describe each method from its registered class; models.json and
training.csv the models; heatmaps.npz a few maps per model; manifest.json the run itself.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import to_dict
from ..data import DataBundle
from ..records import CORRECTNESS_FILE, correctness_key
from ..suites import MethodSpec, Suite
from ..targets import explained_targets
from .explain import Explanations
from .models import Trained
from .plan import applies
from .records import dataset_record, explainer_record, records_of_metric
from .samples import Samples

TRAINING_COLUMNS = ["seed", "model", "epoch", "step", "seconds", "loss", "ce", "kd", "align", "val_acc",
                    "val_inter_acc", "val_agreement"]


def write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def metrics_info(metrics: dict[str, Any], specs: list[MethodSpec] | None = None) -> dict[str, dict]:
    """metrics.json: per metric label its record (``pipeline.records``); extras get their own entries."""
    scopes = {spec.label: spec for spec in specs or []}
    return {name: record.to_json() for label, metric in metrics.items()
            for name, record in records_of_metric(label, metric, scopes.get(label)).items()}


def explainers_info(classes: dict[str, type]) -> dict[str, dict]:
    """explainers.json: per explainer label its record."""
    return {label: explainer_record(cls).to_json() for label, cls in classes.items()}


def write_run_files(run_dir: Path, suite: Suite, metrics: dict[str, Any], classes: dict[str, type],
                    trained: Trained) -> None:
    """metrics.json, explainers.json, models.json and training.csv."""
    write_json(run_dir / "metrics.json", metrics_info(metrics, suite.metrics))
    write_json(run_dir / "explainers.json", explainers_info(classes))
    write_json(run_dir / "models.json", {
        variant.name: dict(kind=variant.kind, baseline=variant.baseline, grid=variant.grid,
                           patch=variant.model.patch_size, description=variant.description,
                           overrides=variant.overrides, explainers=variant.explainers,
                           seeds={str(seed): trained[(seed, variant.name)].metrics for seed in variant.seeds})
        for variant in suite.models})
    write_correctness(run_dir, trained)
    rows = [dict(seed=seed, model=name, **record) for (seed, name), model in sorted(trained.items())
            for record in model.history]
    if rows:
        frame = pd.DataFrame(rows)
        frame = frame[[c for c in TRAINING_COLUMNS if c in frame] + [c for c in frame if c not in TRAINING_COLUMNS]]
        frame.to_csv(run_dir / "training.csv", index=False)


def write_correctness(run_dir: Path, trained: Trained) -> None:
    """test_correctness.npz: each model's per-image correctness on the test images it was evaluated on (none for a
    model given without its data), so that claim (iii) compares two models image by image."""
    arrays = {}
    for (seed, name), model in sorted(trained.items()):
        if model.test_correct is not None and model.test_index is not None:
            arrays[correctness_key(name, seed, "index")] = model.test_index.cpu().numpy().astype(np.int64)
            arrays[correctness_key(name, seed, "correct")] = model.test_correct.cpu().numpy().astype(np.uint8)
    if arrays:
        np.savez_compressed(run_dir / CORRECTNESS_FILE, **arrays)


def write_heatmaps(run_dir: Path, suite: Suite, data: DataBundle, samples: Samples, trained: Trained,
                   explanations: Explanations, device: torch.device) -> None:
    """heatmaps.npz: the first images (de-normalised) and each explainer's maps of them, per model shown."""
    n = min(suite.heatmap_images, suite.batch_size, len(samples.indices))
    if n < 1 or not explanations.classes:
        return
    mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
    arrays: dict[str, np.ndarray] = {"images": (samples.images[:n] * std + mean).clamp(0, 1).numpy().astype(np.float32),
                                     "labels": samples.labels[:n].numpy()}
    stop = min(suite.batch_size, len(samples.indices))  # the first chunk: its maps are in the explanation cache
    idx = samples.indices[:stop]
    kinds = {v.name: v.kind for v in suite.models}
    # plain ViTs and the IA-ViTs compared with them; ablations would make the grid unreadably tall
    for variant in [v for v in suite.models if v.kind == "vit" or kinds.get(v.baseline) != "ia-vit"]:
        seed = variant.seeds[0]
        model = trained[(seed, variant.name)]
        chunk = samples.images[:stop].to(device)
        # the evidence masks: an oracle reads them, and its map is one of those shown
        masks = None if samples.masks is None else samples.masks[:stop].to(device)
        targets = explained_targets(model.model, chunk, samples.labels[:stop].to(device), suite.target)
        for label, cls in explanations.classes.items():
            if not applies(cls, variant.kind) or not variant.explains(label):
                continue
            saliency = explanations(model.model, model.key, label, chunk, targets, idx, seed, variant.name, masks)
            arrays[f"{variant.name}__{label}"] = saliency[:n].float().cpu().numpy()
    np.savez_compressed(run_dir / "heatmaps.npz", **arrays)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("iabench", "torch", "torchvision", "timm", "transformers", "captum", "quantus", "numpy", "pandas",
                    "scipy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write_manifest(run_dir: Path, suite: Suite, run_id: str, config_hash: str, device: torch.device,
                   timings: dict[str, float], data: DataBundle, samples: Samples, trained: Trained,
                   failures: int, estimate: dict[str, Any] | None = None) -> None:
    """manifest.json; ``estimate``: what the plan line expected (``estimate.Estimate.record``)."""
    write_json(run_dir / "manifest.json", dict(
        suite=suite.name, run_id=run_id, config_hash=config_hash, config=to_dict(suite), versions=versions(),
        git_commit=git_commit(), device=str(device), torch_threads=torch.get_num_threads(),
        timings={k: round(v, 2) for k, v in timings.items()}, estimate=estimate or {},
        dataset=dataset_record(data, suite.data).to_json(),
        samples=len(samples.indices),
        models={f"{name}/seed{seed}": dict(family=t.family, checkpoint=str(t.checkpoint), cached=t.cached,
                                            train_seconds=round(t.seconds, 1), metrics=t.metrics)
                for (seed, name), t in sorted(trained.items())},
        failures_this_session=failures))
