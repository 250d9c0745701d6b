"""Mixed precision while scoring: which stages autocast, and that the chosen dtype keeps scores within 1e-3
(checked with CPU autocast, the same fp16 arithmetic a GPU's autocast uses for these layers)."""

from __future__ import annotations

import numpy as np
import timm
import torch

from iabench.baselines import create_explainer
from iabench.metrics import create_metric
from iabench.pipeline.precision import SCORE_DTYPE, score_dtype, scoring


def test_only_cuda_scoring_without_re_explaining_autocasts() -> None:
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert score_dtype(cuda, create_metric("deletion")) == torch.float16 == SCORE_DTYPE
    assert score_dtype(cuda, create_metric("accuracy")) == torch.float16
    assert score_dtype(cuda, create_metric("mprt")) is None  # re-explains inside: full precision
    assert score_dtype(cpu, create_metric("deletion")) is None
    assert not torch.is_autocast_enabled("cpu")
    with scoring(cpu, create_metric("deletion")):
        assert not torch.is_autocast_enabled("cpu")


def confident_vit() -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=10,
                              embed_dim=48, depth=2).eval()
    with torch.no_grad():
        model.head.weight.mul_(30.0)  # sharp probabilities: half precision shows where it matters
    return model


def test_fp16_keeps_perturbation_scores_within_1e_3() -> None:
    model = confident_vit()
    images = torch.randn(8, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    targets = model(images).argmax(1)
    saliency = create_explainer("input-x-gradient", model).attribute(images, targets)
    gaps = {}
    for name in ("deletion", "insertion", "morf"):
        metric = create_metric(name)
        full = metric(model, images, targets, saliency).scores
        assert full.std() > 0.003  # scores that vary: not a trivial agreement
        for dtype in (torch.float16, torch.bfloat16):
            with torch.autocast("cpu", dtype=dtype):
                gaps[name, dtype] = float(np.max(np.abs(metric(model, images, targets, saliency).scores - full)))
    assert max(gaps[name, SCORE_DTYPE] for name in ("deletion", "insertion", "morf")) < 1e-3, gaps
    assert all(gaps[name, torch.bfloat16] > gaps[name, torch.float16] for name in ("deletion", "insertion", "morf"))
