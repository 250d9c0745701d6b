"""Training of the plain ViT (CE) and IA-ViT (CE + KD + attention alignment), with a checkpoint cache.

Same optimiser, schedule and data order for both models, so they differ only by the objective.
Runs on CPU (seeded, deterministic), on one GPU (mixed precision) and under ``torchrun`` (DDP).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from timm.scheduler import CosineLRScheduler
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from ..config import ModelConfig, TrainConfig
from ..data import DataBundle
from ..device import amp_dtype, autocast
from ..errors import UserError
from ..models import create_model
from .losses import ALIGNMENTS, encoder_attention_summary, interpreter_attention_summary, kd_loss
from .progress import TrainingProgress


class _TrainForward(nn.Module):
    """Routes DDP's forward to ``forward_all`` so gradient sync sees every output."""

    def __init__(self, model: nn.Module, attention: bool) -> None:
        super().__init__()
        self.model = model
        self.attention = attention

    def forward(self, x: torch.Tensor) -> Any:
        return self.model.forward_all(x, attention=self.attention)


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def objective(kind: str, output: Any, labels: torch.Tensor, config: TrainConfig,
              num_prefix_tokens: int = 1) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss and its terms. Plain ViT: CE. IA-ViT: CE + lambda_sim KD + lambda_align align."""
    ce = F.cross_entropy(output.logits, labels, label_smoothing=config.label_smoothing)
    terms = {"ce": ce.item()}
    loss = ce
    if kind == "ia-vit":
        if config.sim == "kd":
            kd = kd_loss(output.inter_logits, output.logits, config.temperature, config.detach_teacher)
            loss = loss + config.lambda_sim * kd
            terms["kd"] = kd.item()
        if config.align != "none":
            enc = encoder_attention_summary(output.encoder_attn, num_prefix_tokens)
            inter = interpreter_attention_summary(output.inter_attn)
            align = ALIGNMENTS[config.align](enc.float(), inter.float())
            loss = loss + config.lambda_align * align
            terms["align"] = align.item()
        if config.interpreter_ce:
            ice = F.cross_entropy(output.inter_logits, labels)
            loss = loss + config.interpreter_ce * ice
            terms["inter_ce"] = ice.item()
    terms["loss"] = loss.item()
    return loss, terms


def validate_train_config(config: TrainConfig) -> None:
    choices = {"optimizer": ("adamw", "sgd"), "sim": ("kd", "none"), "align": ("mmd", "notebook", "none"),
               "amp": ("auto", "off", "fp16", "bf16")}
    for key, allowed in choices.items():
        if getattr(config, key) not in allowed:
            raise UserError(f"train.{key} = '{getattr(config, key)}' is not one of {', '.join(allowed)}")
    if config.epochs < 1 and config.max_steps < 1:
        raise UserError("train.epochs (or train.max_steps) must be at least 1")
    if config.batch_size < 1 or config.lr <= 0:
        raise UserError("train.batch_size must be >= 1 and train.lr > 0")


def eval_subset(dataset: Dataset, images: int) -> Dataset:
    """The first ``images`` of a fixed random order of ``dataset`` (seed 0: the same for every model, so
    accuracies are compared on the same images), or all of it when ``images`` is 0 or not smaller."""
    n = len(dataset)  # type: ignore[arg-type]
    if images <= 0 or images >= n:
        return dataset
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:images].sort().values
    return Subset(dataset, order.tolist())


@torch.inference_mode()
def evaluate(model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 512,
             dtype: torch.dtype | None = None) -> dict[str, float]:
    """Predictor accuracy and, for IA-ViT, interpreter accuracy and top-1 agreement with the predictor."""
    model.eval()
    if device.type == "cpu":  # batches that fit the CPU caches: 256 runs a 196-token ViT ~1.5x faster than 1000
        batch_size = min(batch_size, 256)
    n = correct = inter_correct = agree = 0
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        images, labels = batch[0].to(device), batch[1].to(device)
        with autocast(device, dtype):
            out = model.forward_all(images, attention=False)
        pred = out.logits.argmax(1)
        n += labels.numel()
        correct += (pred == labels).sum().item()
        if out.inter_logits is not None:
            inter = out.inter_logits.argmax(1)
            inter_correct += (inter == labels).sum().item()
            agree += (inter == pred).sum().item()
    result = {"acc": correct / max(n, 1)}
    if getattr(model, "kind", "") == "ia-vit":
        result.update(inter_acc=inter_correct / max(n, 1), agreement=agree / max(n, 1))
    return result


def train(kind: str, model_config: ModelConfig, data: DataBundle, config: TrainConfig, device: torch.device,
          progress: bool = True, name: str = "", emit: Callable[[str], None] | None = None,
          ) -> tuple[nn.Module, dict[str, float], list[dict[str, float]]]:
    """Train a fresh model of ``kind`` on ``data``; returns (model, test metrics, per-epoch history). With
    ``progress``, a line every few seconds (``TrainingProgress``, named ``name``) goes to ``emit`` (default: the
    log)."""
    validate_train_config(config)
    rank, world = _distributed()
    torch.manual_seed(config.seed)
    model = create_model(kind, model_config).to(device)
    dtype = amp_dtype(device, config.amp)
    attention = kind == "ia-vit" and config.align != "none"
    step_model: nn.Module = _TrainForward(model, attention)
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
    steps_per_epoch = len(loader)
    total_steps = config.max_steps or config.epochs * steps_per_epoch
    epochs = math.ceil(total_steps / steps_per_epoch)
    decay, no_decay = [], []
    for param_name, p in model.named_parameters():  # no weight decay on norms, biases and embeddings (timm practice)
        (no_decay if p.ndim <= 1 or param_name.endswith(("pos_embed", "cls_token")) else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = CosineLRScheduler(optimizer, t_initial=total_steps, lr_min=config.lr * 0.01,
                                  warmup_t=min(config.warmup_steps, total_steps // 2),
                                  warmup_lr_init=config.lr * 0.01, t_in_epochs=False)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    history: list[dict[str, float]] = []
    step = 0
    reporter = TrainingProgress(name or kind, total_steps, epochs, emit) if progress and rank == 0 else None
    for epoch in range(epochs):
        model.train()
        if sampler is not None:
            sampler.set_epoch(epoch)
        sums: dict[str, float] = {}
        count = 0
        started = time.perf_counter()
        for batch in loader:
            images, labels = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)
            with autocast(device, dtype):
                output = step_model(images)
            loss, terms = objective(kind, output, labels, config, model.num_prefix_tokens)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.clip_grad > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            step += 1
            scheduler.step_update(step)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            if reporter is not None:
                reporter.step(step, epoch + 1, sums["loss"] / count)
            if step >= total_steps:
                break
        record = {"epoch": epoch + 1, "step": step, "seconds": time.perf_counter() - started,
                  **{k: v / max(count, 1) for k, v in sums.items()}}
        val = evaluate(model, eval_subset(data.val, config.eval_images), device, config.eval_batch_size, dtype)
        record.update({f"val_{k}": v for k, v in val.items()})
        history.append(record)
        if reporter is not None:
            reporter.epoch_done(epoch + 1, record)
        if step >= total_steps:
            break
    return model.eval(), evaluate_test_split(model, data, config, device), history


def evaluate_test_split(model: nn.Module, data: DataBundle, config: TrainConfig,
                        device: torch.device) -> dict[str, float]:
    """``test_acc`` (and IA-ViT's ``test_inter_acc``, ``test_agreement``) on ``config.eval_images`` test
    images, and ``test_images``, how many that was."""
    test = eval_subset(data.test, config.eval_images)
    dtype = amp_dtype(device, config.amp)
    metrics = {f"test_{k}": v for k, v in evaluate(model, test, device, config.eval_batch_size, dtype).items()}
    metrics["test_images"] = float(len(test))  # type: ignore[arg-type]
    return metrics
