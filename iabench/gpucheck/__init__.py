"""The prepared GPU check (``python -m iabench.gpucheck``, or ``scripts/gpu_check.sh`` with the CUDA tests first):
trains the ``paper`` suite's IA-ViT and ViT for a few hundred steps on CIFAR-10-format data it writes itself, times a
training step of each, explains with the suite's explainers and scores insertion/deletion on 32 images, compares the
GPU's maps and scores with the same machine's CPU, and times our curves against ``quantus.PixelFlipping``; one JSON
and a short text summary. ``--device cpu --tiny`` runs the same stages on a small model in a minute (CI tests it)."""

from .maps import MAP_TOLERANCE, NOISY_CORRELATION, SCORE_DRIFT, map_agreement

__all__ = ["MAP_TOLERANCE", "NOISY_CORRELATION", "SCORE_DRIFT", "map_agreement"]
