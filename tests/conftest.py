"""Shared fixtures. Every test runs offline with its own cache directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import iabench.data.fashion_mnist as fm
from iabench.config import DataConfig, ModelConfig
from iabench.models import create_model, get_preset


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests marked ``cuda`` skip, with one line saying why, where torch sees no GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU and torch sees none here (scripts/gpu_check.sh runs it on one)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IABENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("IABENCH_OFFLINE", "1")
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> ModelConfig:
    """The CPU default model's shape (28px, 1 channel, 7x7 patches, width 64, 4 blocks)."""
    return get_preset("vit-tiny-fmnist").model


@pytest.fixture
def micro_config() -> ModelConfig:
    """An even smaller ViT for fast training tests: 16px synthetic images, 4px patches, 2 blocks."""
    return dataclasses.replace(get_preset("vit-tiny-fmnist").model, img_size=16, embed_dim=32, depth=2,
                               num_heads=2)


@pytest.fixture
def synthetic_data_config() -> DataConfig:
    return DataConfig(name="synthetic", img_size=16, seed=0)


@pytest.fixture
def tiny_ia_vit(tiny_config: ModelConfig) -> torch.nn.Module:
    return create_model("ia-vit", tiny_config).eval()


@pytest.fixture
def keep_tf32():
    """Put torch's process-wide float32 precision settings back after a test that changes them (the GPU check turns
    TF32 off everywhere)."""
    conv, matmul = torch.backends.cudnn.conv.fp32_precision, torch.get_float32_matmul_precision()
    yield
    torch.backends.cudnn.conv.fp32_precision = conv
    torch.set_float32_matmul_precision(matmul)


@pytest.fixture
def no_system_fmnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fashion-MNIST from the test's own files only: neither the Debian files nor a cache nor the network."""
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("IABENCH_DATA", str(tmp_path / "no-cache"))
    monkeypatch.setenv("IABENCH_OFFLINE", "1")
