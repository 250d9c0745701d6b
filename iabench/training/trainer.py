"""Training of the plain ViT (CE) and IA-ViT (CE + KD + attention alignment), with a checkpoint cache.

Same optimiser, schedule and data order for both models, so they differ only by the objective.
Runs on CPU (seeded, deterministic), on one GPU (mixed precision) and under ``torchrun`` (DDP).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from timm.scheduler import CosineLRScheduler
from torch import nn
from torch.utils.data import DataLoader

from ..config import ModelConfig, TrainConfig
from ..data import DataBundle
from ..device import amp_dtype, autocast, backend_for
from ..errors import UserError
from ..models import create_model, vit_backbone
from .evaluation import TestEvaluation, eval_subset, evaluate, evaluate_test_split
from .losses import ENCODER_SUMMARIES, objective
from .progress import TrainingProgress
from .warm import load_warm

log = logging.getLogger(__name__)


class _TrainForward(nn.Module):
    """Routes DDP's forward to ``forward_all`` so gradient sync sees every output."""

    def __init__(self, model: nn.Module, attention: bool) -> None:
        super().__init__()
        self.model = model
        self.attention = attention

    def forward(self, x: torch.Tensor) -> Any:
        return self.model.forward_all(x, attention=self.attention)


def _distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun (``backend_for``: gloo where ranks share
    a GPU, said in one line)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = backend_for(device, world)
        if device.type == "cuda" and backend == "gloo" and int(os.environ.get("RANK", "0")) == 0:
            log.info("%d ranks on %d GPU(s): gloo, as NCCL refuses two ranks on one device", world,
                     torch.cuda.device_count())
        dist.init_process_group(backend)
    return dist.get_rank(), world


def validate_train_config(config: TrainConfig) -> None:
    choices = {"optimizer": ("adamw", "sgd"), "sim": ("kd", "none"), "align": ("mmd", "notebook", "none"),
               "amp": ("auto", "off", "fp16", "bf16"), "encoder_summary": ENCODER_SUMMARIES}
    for key, allowed in choices.items():
        if getattr(config, key) not in allowed:
            raise UserError(f"train.{key} = '{getattr(config, key)}' is not one of {', '.join(allowed)}")
    if config.epochs < 1 and config.max_steps < 1:
        raise UserError("train.epochs (or train.max_steps) must be at least 1")
    if config.batch_size < 1 or config.lr <= 0:
        raise UserError("train.batch_size must be >= 1 and train.lr > 0")


@dataclass
class _Loop:
    """What every training step uses."""

    kind: str
    model: nn.Module
    step_model: nn.Module
    loader: DataLoader
    sampler: Any
    optimizer: torch.optim.Optimizer
    scheduler: CosineLRScheduler
    scaler: torch.amp.GradScaler
    config: TrainConfig
    device: torch.device
    dtype: torch.dtype | None
    total_steps: int


def _data(kind: str, model: nn.Module, data: DataBundle, config: TrainConfig, device: torch.device, rank: int,
          world: int) -> tuple[nn.Module, Any, DataLoader]:
    """(the module a step calls, the distributed sampler or None, the training loader)."""
    step_model: nn.Module = _TrainForward(model, kind == "ia-vit" and config.align != "none")
    sampler = None
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(data.train, num_replicas=world, rank=rank, seed=config.seed)
        step_model = DistributedDataParallel(step_model, device_ids=[device.index] if device.type == "cuda" else None)
    loader = DataLoader(data.train, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=True, num_workers=config.num_workers, pin_memory=device.type == "cuda",
                        generator=torch.Generator().manual_seed(config.seed))
    if len(loader) == 0:
        raise UserError(f"the training split ({len(data.train)} images) is smaller than one batch "
                        f"({config.batch_size}); lower train.batch_size")
    return step_model, sampler, loader


def _optimizer(model: nn.Module, config: TrainConfig, total_steps: int) -> tuple[torch.optim.Optimizer,
                                                                                   CosineLRScheduler]:
    """AdamW or SGD, no weight decay on norms, biases and embeddings (timm practice); warm-up + cosine."""
    decay, no_decay = [], []
    embeddings = tuple(vit_backbone(model).no_weight_decay())  # timm's names: position table, class token
    for param_name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or param_name.endswith(embeddings) else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = CosineLRScheduler(optimizer, t_initial=total_steps, lr_min=config.lr * 0.01,
                                  warmup_t=min(config.warmup_steps, total_steps // 2),
                                  warmup_lr_init=config.lr * 0.01, t_in_epochs=False)
    return optimizer, scheduler


def train(kind: str, model_config: ModelConfig, data: DataBundle, config: TrainConfig, device: torch.device,
          progress: bool = True, name: str = "", emit: Callable[[str], None] | None = None,
          initial: dict[str, torch.Tensor] | None = None) -> tuple[nn.Module, TestEvaluation, list[dict[str, float]]]:
    """Train a model of ``kind`` on ``data``, fresh or from the weights ``initial`` (a warm start); returns (model,
    its test evaluation, per-epoch history). With ``progress``, a line every few seconds (``TrainingProgress``, named
    ``name``) goes to ``emit`` (default: the log)."""
    validate_train_config(config)
    rank, world = _distributed(device)
    torch.manual_seed(config.seed)
    model = create_model(kind, model_config)
    if initial is not None:
        load_warm(model, initial)
    model = model.to(device)
    dtype = amp_dtype(device, config.amp)
    step_model, sampler, loader = _data(kind, model, data, config, device, rank, world)
    total_steps = config.max_steps or config.epochs * len(loader)
    epochs = math.ceil(total_steps / len(loader))
    optimizer, scheduler = _optimizer(model, config, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    loop = _Loop(kind, model, step_model, loader, sampler, optimizer, scheduler, scaler, config, device, dtype,
                 total_steps)
    history: list[dict[str, float]] = []
    step = 0
    reporter = TrainingProgress(name or kind, total_steps, epochs, emit) if progress and rank == 0 else None
    for epoch in range(epochs):
        step, record = _epoch(loop, epoch, step, reporter)
        val = evaluate(model, eval_subset(data.val, config.eval_images), device, config.eval_batch_size, dtype)
        record.update({f"val_{k}": v for k, v in val.items()})
        history.append(record)
        if reporter is not None:
            reporter.epoch_done(epoch + 1, record)
        if step >= total_steps:
            break
    return model.eval(), evaluate_test_split(model, data, config, device), history


def _epoch(loop: _Loop, epoch: int, step: int, reporter: TrainingProgress | None) -> tuple[int, dict[str, float]]:
    """One epoch (or what is left of the steps); returns the step count and the epoch's mean loss terms."""
    loop.model.train()
    if loop.sampler is not None:
        loop.sampler.set_epoch(epoch)
    sums: dict[str, float] = {}
    count = 0
    started = time.perf_counter()
    for batch in loop.loader:
        images, labels = batch[0].to(loop.device, non_blocking=True), batch[1].to(loop.device, non_blocking=True)
        with autocast(loop.device, loop.dtype):
            output = loop.step_model(images)
        loss, terms = objective(loop.kind, output, labels, loop.config, loop.model.num_prefix_tokens)
        loop.optimizer.zero_grad(set_to_none=True)
        loop.scaler.scale(loss).backward()
        if loop.config.clip_grad > 0:
            loop.scaler.unscale_(loop.optimizer)
            torch.nn.utils.clip_grad_norm_(loop.model.parameters(), loop.config.clip_grad)
        loop.scaler.step(loop.optimizer)
        loop.scaler.update()
        step += 1
        loop.scheduler.step_update(step)
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value
        count += 1
        if reporter is not None:
            reporter.step(step, epoch + 1, sums["loss"] / count)
        if step >= loop.total_steps:
            break
    return step, {"epoch": epoch + 1, "step": step, "seconds": time.perf_counter() - started,
                  **{k: v / max(count, 1) for k, v in sums.items()}}
