"""Accuracy of a trained model: the predictor's, and for IA-ViT the interpreter's and their agreement, on the
validation split each epoch and on the test split at the end (``train.eval_images`` of them, or all)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class TestEvaluation:
    """The test split's evaluation: the accuracies (``test_acc``, ...; ``test_images``) and, per test image, its
    index in the split (ascending) and whether the predictor was right (1) or not (0), so that two models evaluated
    on the same images can be compared image by image."""

    metrics: dict[str, float]
    index: torch.Tensor  # int64 (N,)
    correct: torch.Tensor  # uint8 (N,)


@torch.inference_mode()
def _predictions(model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int,
                 dtype: torch.dtype | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(labels, predicted classes, the interpreter's classes or None) over ``dataset`` in its order, on the CPU."""
    model.eval()
    if device.type == "cpu":  # batches that fit the CPU caches: 256 runs a 196-token ViT ~1.5x faster than 1000
        batch_size = min(batch_size, 256)
    labels, predicted, inter = [], [], []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        with autocast(device, dtype):
            out = model.forward_all(batch[0].to(device), attention=False)
        labels.append(batch[1].cpu())
        predicted.append(out.logits.argmax(1).cpu())
        if out.inter_logits is not None:
            inter.append(out.inter_logits.argmax(1).cpu())
    empty = torch.zeros(0, dtype=torch.long)
    return torch.cat(labels) if labels else empty, torch.cat(predicted) if predicted else empty, (
        torch.cat(inter) if inter else None)


def _accuracies(model: nn.Module, labels: torch.Tensor, predicted: torch.Tensor,
                inter: torch.Tensor | None) -> dict[str, float]:
    n = max(labels.numel(), 1)
    result = {"acc": (predicted == labels).sum().item() / n}
    if getattr(model, "kind", "") == "ia-vit":
        right, agree = (0, 0) if inter is None else ((inter == labels).sum().item(), (inter == predicted).sum().item())
        result.update(inter_acc=right / n, agreement=agree / n)
    return result


def evaluate(model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 512,
             dtype: torch.dtype | None = None) -> dict[str, float]:
    """Predictor accuracy and, for IA-ViT, interpreter accuracy and top-1 agreement with the predictor."""
    return _accuracies(model, *_predictions(model, dataset, device, batch_size, dtype))


def evaluate_test_split(model: nn.Module, data: DataBundle, config: TrainConfig,
                        device: torch.device) -> TestEvaluation:
    """``test_acc`` (and IA-ViT's ``test_inter_acc``, ``test_agreement``) on ``config.eval_images`` test images,
    ``test_images``, how many that was, and each of those images' correctness."""
    test = eval_subset(data.test, config.eval_images)
    labels, predicted, inter = _predictions(model, test, device, config.eval_batch_size,
                                            amp_dtype(device, config.amp))
    metrics = {f"test_{k}": v for k, v in _accuracies(model, labels, predicted, inter).items()}
    metrics["test_images"] = float(len(test))  # type: ignore[arg-type]
    index = torch.as_tensor(test.indices if isinstance(test, Subset) else range(len(test)),  # type: ignore[arg-type]
                            dtype=torch.long)
    return TestEvaluation(metrics, index, (predicted == labels).to(torch.uint8))
