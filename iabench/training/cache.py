"""The checkpoint cache: a trained model is stored under a hash of the configs that shape its weights,
and loaded instead of trained whenever that hash is found again."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..config import DataConfig, ModelConfig, TrainConfig, config_hash
from ..data import DataBundle, load_dataset
from .checkpoint import atomic_torch_save, load_checkpoint, save_checkpoint
from .evaluation import TestEvaluation, eval_subset, evaluate_test_split
from .progress import finished_line
from .trainer import train
from .warm import WarmSource, warm_source

log = logging.getLogger("iabench")


@dataclass
class TrainedModel:
    """A model ready to explain, with where it came from."""

    kind: str
    model: nn.Module
    checkpoint: Path
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    cached: bool = False
    seconds: float = 0.0
    weights_key: str = ""  # names the weights in the explanation cache; "" = the checkpoint's file name
    family: str = "iabench"  # who built it: iabench (trained here), or a given model's family (timm, hf, ...)
    # the test images evaluated (indices into the test split) and whether the predictor was right on each; None for
    # a model given without its training data
    test_index: torch.Tensor | None = None
    test_correct: torch.Tensor | None = None

    @property
    def key(self) -> str:
        return self.weights_key or self.checkpoint.name


def checkpoint_path(cache_dir: Path, kind: str, model_config: ModelConfig, train_config: TrainConfig,
                    data_config: DataConfig) -> Path:
    """Where the model trained from these configs is cached: a hash of everything that shapes it (not
    ``eval_images``: how many images it is evaluated on does not change its weights; nor, for a plain ViT, the
    IA-ViT alignment's ``encoder_summary``, so that its default's change kept the plain ViTs' keys)."""
    shaping = dataclasses.replace(train_config, eval_images=0)
    if kind != "ia-vit":
        shaping = dataclasses.replace(shaping, encoder_summary=TrainConfig.HASH_NEUTRAL["encoder_summary"])
    key = config_hash(kind, model_config, shaping, data_config)
    return Path(cache_dir).expanduser() / "models" / f"{kind}-{key}.pt"


def train_or_load(kind: str, model_config: ModelConfig, data_config: DataConfig, train_config: TrainConfig,
                  data: DataBundle | None, device: torch.device, cache_dir: Path, progress: bool = True,
                  retrain: bool = False, name: str = "", emit: Callable[[str], None] | None = None,
                  load_data: Callable[[DataConfig], DataBundle] = load_dataset) -> TrainedModel:
    """Load the cached model for these configs, or train it (``data`` needed then) and cache it. Training writes
    progress lines and a last line with the test accuracies, named ``name``, to ``emit`` (default: the log). A warm
    start (``train.warm_start``) first trains or loads its source model, on the data ``load_data`` gives for the
    source's (key) data config; ``seconds`` then counts the source's training too."""
    path = checkpoint_path(cache_dir, kind, model_config, train_config, data_config)
    if path.exists() and not retrain:
        return _load(path, kind, model_config, data_config, train_config, data, device, name)
    if data is None:
        raise ValueError("no cached checkpoint and no data to train on")
    started = time.perf_counter()
    initial = _warm_weights(kind, model_config, data_config, train_config, device, cache_dir, progress, name, emit,
                            load_data) if train_config.warm_start else None
    model, test, history = train(kind, model_config, data, train_config, device, progress, name or kind, emit,
                                 initial=initial)
    seconds = time.perf_counter() - started
    metrics = {**test.metrics, "train_seconds": seconds}
    if int(os.environ.get("RANK", "0")) == 0:
        save_checkpoint(path, model, kind, model_config, train_config, data_config, metrics, history, _tensors(test))
        (emit or log.info)(finished_line(name or kind, metrics, seconds))
    return TrainedModel(kind, model, path, metrics, history, cached=False, seconds=seconds, test_index=test.index,
                        test_correct=test.correct)


def _warm_weights(kind: str, model_config: ModelConfig, data_config: DataConfig, train_config: TrainConfig,
                  device: torch.device, cache_dir: Path, progress: bool, name: str,
                  emit: Callable[[str], None] | None, load_data: Callable[[DataConfig], DataBundle],
                  ) -> dict[str, torch.Tensor]:
    """The weights a warm start begins from: its source model's, trained now or loaded from the cache."""
    warm = warm_source(kind, data_config, train_config)
    bundle = _source_bundle(warm, model_config, cache_dir, load_data)
    source = train_or_load(warm.kind, model_config, warm.data, warm.train, bundle, device, cache_dir, progress,
                           name=f"{name or kind} (warm start)", emit=emit, load_data=load_data)
    (emit or log.info)(f"{name or kind}: starts from {source.checkpoint.name} ({', '.join(train_config.warm_start)})")
    return source.model.state_dict()


def _source_bundle(warm: WarmSource, model_config: ModelConfig, cache_dir: Path,
                   load_data: Callable[[DataConfig], DataBundle]) -> DataBundle | None:
    """The source's data, loaded only when its model must be trained."""
    if checkpoint_path(cache_dir, warm.kind, model_config, warm.train, warm.data).exists():
        return None
    return load_data(warm.data)


def _tensors(test: TestEvaluation) -> dict[str, torch.Tensor]:
    return {"test_index": test.index, "test_correct": test.correct}


def _load(path: Path, kind: str, model_config: ModelConfig, data_config: DataConfig, train_config: TrainConfig,
          data: DataBundle | None, device: torch.device, name: str) -> TrainedModel:
    """The cached model. Evaluated again when the run asks for another number of test images than it was evaluated
    on (the checkpoint keeps its own), or, once, when the checkpoint predates per-image correctness (then stored)."""
    model, payload = load_checkpoint(path, kind, model_config)
    log.info("%s: loaded from the checkpoint cache (%s)", name or kind, path)
    model, metrics = model.to(device).eval(), payload["metrics"]
    index, correct = payload.get("test_index"), payload.get("test_correct")
    if data is not None:
        wanted = len(eval_subset(data.test, train_config.eval_images))  # type: ignore[arg-type]
        stored = metrics.get("test_images", len(data.test))  # type: ignore[arg-type]
        if stored != wanted or correct is None:
            test = evaluate_test_split(model, data, train_config, device)
            metrics, index, correct = {**metrics, **test.metrics}, test.index, test.correct
            if stored == wanted and int(os.environ.get("RANK", "0")) == 0:  # the same images: keep their correctness
                atomic_torch_save({**payload, **_tensors(test)}, path)  # the rest exactly as stored
    return TrainedModel(kind, model, path, metrics, payload["history"], cached=True, test_index=index,
                        test_correct=correct)
