"""The reliance checks of ``evidence-fashion-mnist`` (its ``GroundTruth``): does a trained model use the evidence its
task plants, and only that? A trained model need not use all of the planted evidence (AttributionLab, 2023), so
reliance is checked by intervention, not assumed, on the canvases' own edits (``EvidenceCanvases.raw``):

- ``motif`` models: test accuracy >= 97 %; the label ceiling (Zhou et al., AAAI 2022): with the motif erased the
  accuracy is chance, 10 % +- 2 points by TOST on the 90 % interval; the intervention: with another class's motif in
  the motif's place, the prediction moves to that class on >= 95 % of the images;
- ``garment`` models: erasing the motif and the decoys changes the accuracy by < 1 point, and swapping the motif
  changes the prediction on < 2 % of the images.

The model contrast pairs the two tasks: mass on the motif under the motif model minus under the garment model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..stats import ALPHA, mean_test
from .evidence_layout import CLASSES
from .ground_truth import Check, ContrastPairing, GroundTruth

CHANCE = 1.0 / CLASSES
THRESHOLDS = dict(accuracy=0.97, ceiling_margin=0.02, swap_moves=0.95, erase_change=0.01, swap_changes=0.02)
SWAP_SEED = 20231  # which other class each image's motif is swapped to: fixed, the same for every model


def swap_classes(dataset: Any, indices: Sequence[int]) -> list[int]:
    """For each image, another class than its motif's, drawn uniformly from a fixed seed."""
    rng = np.random.default_rng(SWAP_SEED)
    return [(dataset.layout(i).motif_class + 1 + int(r)) % CLASSES
            for i, r in zip(indices, rng.integers(0, CLASSES - 1, len(indices)))]


def predictions(model: nn.Module, dataset: Any, indices: Sequence[int], device: torch.device,
                batch: int = 256, **edit: object) -> np.ndarray:
    """The model's predicted class of each canvas, rendered with ``edit`` (see ``EvidenceCanvases.raw``); a per-image
    ``motif`` may be given as a list."""
    swaps = edit.pop("motif", None)
    out = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(indices), batch):
            chunk = indices[start:start + batch]
            motifs = swaps[start:start + batch] if isinstance(swaps, list) else [swaps] * len(chunk)
            images = torch.stack([dataset.served(dataset.raw(i, motif=m, **edit)[0]) for i, m in zip(chunk, motifs)])
            out.append(model(images.to(device)).argmax(1).cpu().numpy())  # forward: the predictor's logits
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def at_chance(correct: np.ndarray) -> bool:
    """TOST of the mean per-image correctness against chance +- the margin: the 90 % t-interval inside it (the
    verdict's equivalence rule, ``stats.mean_test``); with one image, or all alike, the mean itself inside it."""
    test = mean_test(correct - CHANCE, THRESHOLDS["ceiling_margin"])
    if not np.isfinite(test["tost_p"]):  # fewer than two images: no interval
        return bool(abs(correct.mean() - CHANCE) < THRESHOLDS["ceiling_margin"])
    return bool(test["tost_p"] < ALPHA)


def reliance_checks(model: nn.Module, dataset: Any, indices: Sequence[int], device: torch.device) -> list[Check]:
    """The reliance checks of one model on the canvases ``indices`` of ``dataset`` (its task decides which)."""
    indices = list(indices)
    labels = np.array([dataset.label(i) for i in indices])
    plain = predictions(model, dataset, indices, device)
    swapped_to = swap_classes(dataset, indices)
    swapped = predictions(model, dataset, indices, device, motif=swapped_to)
    n, accuracy = len(indices), float((plain == labels).mean())
    if dataset.options.task == "motif":
        erased = predictions(model, dataset, indices, device, erase_motif=True)
        ceiling = (erased == labels).astype(float)
        moved = float((swapped == np.array(swapped_to)).mean())
        return [Check("accuracy", accuracy, ">= 0.97", accuracy >= THRESHOLDS["accuracy"], n),
                Check("accuracy without the motif", float(ceiling.mean()), "0.10 +- 0.02 (TOST, 90 %)",
                      at_chance(ceiling), n),
                Check("prediction follows a swapped motif", moved, ">= 0.95", moved >= THRESHOLDS["swap_moves"], n)]
    bare = predictions(model, dataset, indices, device, erase_motif=True, erase_decoys=True)
    change = float((bare == labels).mean()) - accuracy
    changed = float((swapped != plain).mean())
    return [Check("accuracy", accuracy, "reported", True, n),
            Check("accuracy change without motif and decoys", change, "|change| < 0.01",
                  abs(change) < THRESHOLDS["erase_change"], n),
            Check("prediction changed by a swapped motif", changed, "< 0.02", changed < THRESHOLDS["swap_changes"], n)]


class EvidenceGroundTruth(GroundTruth):
    """The planted-evidence protocol of ``evidence-fashion-mnist``: its task is the labelling."""

    contrast = ContrastPairing(option="task", subject="motif", other="garment", mask="motif")

    def labelling(self, options: Any) -> str:
        return str(options.task)

    def evidence_mask(self, options: Any) -> str:
        return str(options.task)  # the task's evidence: the motif's lit pixels, or the garment's footprint

    def checks(self, model: nn.Module, test: Any, indices: Sequence[int], device: torch.device) -> list[Check]:
        return reliance_checks(model, test, indices, device)
