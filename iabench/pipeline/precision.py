"""Mixed precision on CUDA, stage by stage: autocast only where the scores stay within 1e-3 of full precision.

- training: autocast (``train.amp``, bf16 where supported, else fp16 with a gradient scaler); training noise
  dwarfs it, and the accuracies it reaches are reported;
- scoring (every metric that does not re-explain): fp16 autocast. Measured with the CPU default's trained ViT
  on 16 Fashion-MNIST test images under CPU autocast: deletion, insertion and MoRF scores
  moved by at most 2.5e-5, 1.3e-4 and 2.9e-4 under fp16, but by 6.9e-4, 2.6e-3 and 1.8e-3 under bf16
  (7 mantissa bits against fp16's 10), so bf16 is not used; accuracy did not change under either;
- explaining, and the metrics that re-explain inside (MPRT, random logit, max-sensitivity): full precision.
  Gradients and relevance through softmax and LayerNorm in half precision underflow and reorder the small
  values the perturbation metrics rank.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

from ..device import autocast

SCORE_DTYPE = torch.float16


def score_dtype(device: torch.device, metric: object) -> torch.dtype | None:
    """The autocast dtype for scoring ``metric`` on ``device``; None = full precision."""
    if device.type != "cuda" or metric.needs.explain_fn:  # type: ignore[attr-defined]
        return None
    return SCORE_DTYPE


def scoring(device: torch.device, metric: object) -> AbstractContextManager:
    """The context a metric is computed in (autocast on CUDA, see the module docstring)."""
    return autocast(device, score_dtype(device, metric))
