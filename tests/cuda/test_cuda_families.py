"""The model families on a GPU (marker ``cuda``: skipped, with the reason, where torch sees none; scripts/gpu_check.sh
runs them): a Hugging Face and a torchvision ViT moved to CUDA give the CPU's logits and, for the explainers that
read the model through the seam's forward, its own forward or its modules, the CPU's maps."""

from __future__ import annotations

import copy

import pytest
import torch
from families import hf_from_timm, timm_vit, torchvision_from_timm

from iabench.baselines import create_explainer
from iabench.gpucheck import map_agreement
from iabench.gpucheck.maps import float32_everywhere
from iabench.models import SeamForward, as_classifier

pytestmark = pytest.mark.cuda
DEVICE = torch.device("cuda", 0)
NAMES = ("attention", "rollout", "generic-attention", "transformer-attribution", "lrp", "attnlrp", "gradcam",
         "saliency")


@pytest.fixture(autouse=True)
def _float32(keep_tf32) -> None:
    float32_everywhere()


def _model(family: str) -> torch.nn.Module:
    vit = timm_vit()
    return as_classifier(hf_from_timm(vit)) if family == "hf" else torchvision_from_timm(vit)


@pytest.mark.parametrize("family", ["hf", "torchvision"])
def test_a_family_on_cuda_gives_the_cpus_maps(family: str) -> None:
    model = _model(family)
    images, targets = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 2, 4])
    on_gpu_model = copy.deepcopy(model).to(DEVICE)
    with torch.no_grad():
        logits = on_gpu_model(images.to(DEVICE))
        torch.testing.assert_close(logits.cpu(), model(images), rtol=0, atol=1e-4)
        torch.testing.assert_close(SeamForward(on_gpu_model)(images.to(DEVICE)), logits, rtol=0, atol=1e-4)
    for name in NAMES:
        on_cpu = create_explainer(name, model).attribute(images, targets)
        on_gpu = create_explainer(name, on_gpu_model).attribute(images.to(DEVICE), targets.to(DEVICE))
        assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float32, name
        agreement = map_agreement(name, on_cpu, on_gpu)
        assert agreement["ok"], (name, agreement)
