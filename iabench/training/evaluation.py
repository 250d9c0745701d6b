"""Accuracy of a trained model: the predictor's, and for IA-ViT the interpreter's and their agreement, on the
validation split each epoch and on the test split at the end (``train.eval_images`` of them, or all)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from ..config import TrainConfig
from ..data import DataBundle
from ..device import amp_dtype, autocast


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


def evaluate_test_split(model: nn.Module, data: DataBundle, config: TrainConfig,
                        device: torch.device) -> dict[str, float]:
    """``test_acc`` (and IA-ViT's ``test_inter_acc``, ``test_agreement``) on ``config.eval_images`` test
    images, and ``test_images``, how many that was."""
    test = eval_subset(data.test, config.eval_images)
    dtype = amp_dtype(device, config.amp)
    metrics = {f"test_{k}": v for k, v in evaluate(model, test, device, config.eval_batch_size, dtype).items()}
    metrics["test_images"] = float(len(test))  # type: ignore[arg-type]
    return metrics
