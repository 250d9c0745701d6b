"""Stage 2, models: the dataset, and every model variant of every seed trained or loaded from the cache."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..data import DataBundle, load_dataset
from ..errors import UserError
from ..suites import Suite
from ..suites.variants import ModelVariant
from ..training import TrainedModel, train_or_load
from ..training.parallel import TrainJob, threads_per_process, train_in_parallel
from .costs import CostBook
from .estimate import record_training
from .plan import hashable_data

Trained = dict[tuple[int, str], TrainedModel]  # (seed, variant name) -> model


def fit_to_data(suite: Suite, data: DataBundle) -> Suite:
    """The suite with every model variant fitted to the dataset's channels and classes."""
    fitted = dict(in_chans=data.in_chans, num_classes=data.num_classes)
    variants = []
    for variant in suite.models:
        if data.img_size != variant.model.img_size:
            raise UserError(f"data.img_size ({data.img_size}) differs from model.img_size "
                            f"({variant.model.img_size}) of model '{variant.name}'; set both to the same value")
        variants.append(dataclasses.replace(variant, model=dataclasses.replace(variant.model, **fitted)))
    return dataclasses.replace(suite, model=dataclasses.replace(suite.model, **fitted), models=variants)


def variants_of(suite: Suite, seed: int) -> list[ModelVariant]:
    return [v for v in suite.models if seed in v.seeds]


def train_models(suite: Suite, data: DataBundle, device: torch.device, cache_dir: Path, seed: int) -> Trained:
    """Each variant of ``seed``, trained or loaded from the checkpoint cache; training logs its progress lines
    (the terminal's handler hides them under --quiet, the run's log file keeps them)."""
    trained = {}
    for variant in variants_of(suite, seed):
        trained[(seed, variant.name)] = train_or_load(
            variant.kind, variant.model, hashable_data(suite.data), dataclasses.replace(variant.train, seed=seed),
            data, device, cache_dir, progress=True, name=f"{variant.name}/seed{seed}",
            load_data=lambda key: load_dataset(dataclasses.replace(key, root=suite.data.root)))
    return trained


def train_parallel(suite: Suite, data: DataBundle, device: torch.device, cache_dir: Path,
                   jobs: int) -> dict[str, float]:
    """Fill the checkpoint cache with ``jobs`` CPU processes (the serial pass then loads every model); their
    progress lines are logged as the serial training's are. Returns the training seconds of each model trained, by
    name (variant/seedS)."""
    if device.type != "cpu":
        raise UserError(f"--jobs {jobs} trains in CPU processes; on {device.type} use one job per process "
                        "(torchrun for several GPUs)")
    work = [TrainJob(f"{v.name}/seed{seed}", v.kind, v.model, dataclasses.replace(v.train, seed=seed))
            for seed in suite.seeds for v in variants_of(suite, seed)]
    work.sort(key=lambda job: training_cost(job, len(data.train)), reverse=True)  # longest first: none left alone
    return train_in_parallel(work, suite.data, hashable_data(suite.data), cache_dir, jobs, progress=True)


def training_cost(job: TrainJob, train_size: int) -> float:
    """Rough relative cost of training a job: steps x tokens, doubled for IA-ViT's extra attention."""
    steps = job.train.max_steps or job.train.epochs * (train_size // job.train.batch_size)
    tokens = (job.model.img_size // job.model.patch_size) ** 2
    return steps * tokens * (2.0 if job.kind == "ia-vit" else 1.0)


def train_all(suite: Suite, data: DataBundle, device: torch.device, cache_dir: Path, jobs: int, costs: CostBook,
              timed: Callable[[str, Callable[[], Any]], Any]) -> Trained:
    """Every variant of every seed, trained (``jobs`` CPU processes at once when > 1) or loaded from the cache, each
    training step's seconds counted into ``costs``; ``timed(stage, fn)`` times the stage."""
    train_size = len(data.train)
    if jobs > 1:
        seconds = timed("train", lambda: train_parallel(suite, data, device, cache_dir, jobs)) or {}
        threads = threads_per_process(min(jobs, len(seconds) or 1))
        record_training(costs, suite, seconds, threads, train_size, device)
    trained: Trained = {}
    for seed in suite.seeds:
        trained.update(timed("train", lambda seed=seed: train_models(suite, data, device, cache_dir, seed)))
    now = {f"{name}/seed{seed}": t.seconds for (seed, name), t in trained.items() if not t.cached}
    record_training(costs, suite, now, torch.get_num_threads(), train_size, device)
    costs.save()  # as soon as training ends: a run stopped later still teaches the next estimate
    return trained
