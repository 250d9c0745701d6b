"""The CUDA paths, on a GPU (marker ``cuda``: skipped, with the reason, where torch sees none; scripts/gpu_check.sh
runs them first): training in float32 and mixed precision, every explainer's maps against the CPU's, scoring under
fp16 autocast, batch sizes from free memory, SmoothGrad's forked CUDA generator and two torchrun ranks on one GPU."""

from __future__ import annotations

import copy
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.config import DataConfig, TrainConfig
from iabench.data import load_dataset
from iabench.device import batch_size_for
from iabench.gpucheck import SCORE_DRIFT, map_agreement
from iabench.gpucheck.maps import float32_everywhere
from iabench.metrics import create_metric
from iabench.models import create_model
from iabench.pipeline import plan
from iabench.pipeline.precision import score_dtype, scoring
from iabench.suites import load_suite
from iabench.training import train

pytestmark = pytest.mark.cuda
DEVICE = torch.device("cuda", 0)
OPTIONS = {"shuffled": {"of": "ia-vit"}}  # the explainers that need an option to be built


@pytest.fixture(autouse=True)
def _float32(keep_tf32) -> None:
    float32_everywhere()


@pytest.mark.parametrize("kind", ["vit", "ia-vit"])
@pytest.mark.parametrize(("amp", "tolerance"), [("off", 1e-3), ("auto", 5e-2)])
def test_training_steps_follow_the_cpu(kind, amp, tolerance, micro_config) -> None:
    data = load_dataset(DataConfig(name="synthetic", img_size=16, limit_train=256))
    config = TrainConfig(max_steps=3, batch_size=32, warmup_steps=1, amp=amp, eval_images=64)
    model, test, history = train(kind, micro_config, data, config, DEVICE, progress=False)
    metrics = test.metrics
    _, _, on_cpu = train(kind, micro_config, data, config, torch.device("cpu"), progress=False)
    assert next(model.parameters()).device.type == "cuda" and history[-1]["step"] == 3
    assert math.isfinite(history[-1]["loss"]) and 0 <= metrics["test_acc"] <= 1
    # same initial weights and batches: float32 follows the CPU closely, mixed precision within bf16/fp16 rounding
    assert history[-1]["loss"] == pytest.approx(on_cpu[-1]["loss"], rel=tolerance)


@pytest.mark.parametrize("name", EXPLAINERS.names())
def test_explainer_on_cuda_equals_the_cpu(name, tiny_config) -> None:
    model = create_model("ia-vit", tiny_config).eval()
    images, targets = torch.randn(4, 1, 28, 28), torch.tensor([0, 3, 5, 9])
    on_cpu = create_explainer(name, model, **OPTIONS.get(name, {})).attribute(images, targets)
    explainer = create_explainer(name, copy.deepcopy(model).to(DEVICE), **OPTIONS.get(name, {}))
    on_gpu = explainer.attribute(images.to(DEVICE), targets.to(DEVICE))
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float32
    agreement = map_agreement(name, on_cpu, on_gpu)
    assert agreement["ok"], agreement


def test_smoothgrad_on_cuda_is_seeded_and_leaves_the_callers_generator(tiny_config) -> None:
    model = create_model("vit", tiny_config).eval().to(DEVICE)
    images, targets = torch.randn(2, 1, 28, 28, device=DEVICE), torch.tensor([1, 2], device=DEVICE)
    state = torch.cuda.get_rng_state(DEVICE)
    first = create_explainer("smoothgrad", model).attribute(images, targets)
    assert torch.equal(torch.cuda.get_rng_state(DEVICE), state)
    assert torch.equal(create_explainer("smoothgrad", model).attribute(images, targets), first)


def test_scores_under_autocast_stay_within_the_stated_drift(tiny_config) -> None:
    model = create_model("ia-vit", tiny_config).eval()
    images, targets, saliency = torch.randn(8, 1, 28, 28), torch.arange(8), torch.rand(8, 28, 28)
    gpu_model = copy.deepcopy(model).to(DEVICE)
    for name in ("insertion", "deletion", "morf", "lerf"):
        metric = create_metric(name)
        assert score_dtype(DEVICE, metric) is torch.float16
        on_cpu = metric(model, images, targets, saliency).scores
        with scoring(DEVICE, metric):
            on_gpu = metric(gpu_model, images.to(DEVICE), targets.to(DEVICE), saliency.to(DEVICE)).scores
        assert np.abs(on_gpu - on_cpu).max() <= SCORE_DRIFT, name


def test_batch_sizes_from_free_memory() -> None:
    free, _ = torch.cuda.mem_get_info(DEVICE)
    per_item = max(1, free // 100)  # about 50 items in half of what is free now
    assert batch_size_for(DEVICE, 64, per_item) == max(1, min(512, int(free * 0.5) // per_item))
    metrics = plan.create_metrics(load_suite("faithfulness"), DEVICE)
    assert metrics["deletion"].options.max_batch >= 1 and not hasattr(metrics["accuracy"].options, "max_batch")


def test_two_torchrun_ranks_share_one_gpu_over_gloo(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", "0")[:1])
    micro = ["--set", "data.name=synthetic", "--set", "data.img_size=16", "--set", "model.img_size=16", "--set",
             "model.embed_dim=32", "--set", "model.depth=2", "--set", "model.num_heads=2", "--set", "train.epochs=1",
             "--set", "train.batch_size=32"]
    result = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29541", "-m", "iabench", "train",
                             "--model", "ia-vit", "--device", "auto", "--cache-dir", str(tmp_path), *micro],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 ranks on 1 GPU(s): gloo, as NCCL refuses two ranks on one device" in result.stdout + result.stderr
    (checkpoint,) = (tmp_path / "models").glob("ia-vit-*.pt")
    assert torch.load(checkpoint, weights_only=True)["history"][-1]["step"] == 2000 // 2 // 32
