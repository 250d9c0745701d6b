"""Device choice and the process group's backend (iabench/device.py), on any machine: CUDA's answers are faked
where a GPU would be read, so the rules are pinned where no GPU exists (tests/cuda/test_cuda.py runs them on one)."""

from __future__ import annotations

import pytest
import torch

from iabench import device as dev
from iabench.errors import UserError


def fake_gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


@pytest.mark.parametrize(("gpus", "local_rank", "expected"), [(1, "0", "cuda:0"), (1, "1", "cuda:0"),
                                                               (2, "3", "cuda:1"), (4, "2", "cuda:2"), (0, "1", "cpu")])
def test_auto_gives_each_rank_a_gpu_round_robin(monkeypatch, gpus, local_rank, expected) -> None:
    fake_gpus(monkeypatch, gpus)
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    assert dev.resolve_device("auto") == torch.device(expected)


@pytest.mark.parametrize(("device", "gpus", "world", "expected"), [
    ("cpu", 0, 2, "gloo"), ("cuda:0", 1, 1, "nccl"), ("cuda:0", 1, 2, "gloo"), ("cuda:1", 2, 2, "nccl"),
    ("cuda:0", 2, 3, "gloo")])
def test_nccl_only_when_every_rank_has_a_gpu_of_its_own(monkeypatch, device, gpus, world, expected) -> None:
    fake_gpus(monkeypatch, gpus)
    assert dev.backend_for(torch.device(device), world) == expected


def test_cuda_without_a_gpu_is_one_line(monkeypatch) -> None:
    fake_gpus(monkeypatch, 0)
    with pytest.raises(UserError, match="torch sees no GPU here; use --device cpu"):
        dev.resolve_device("cuda")


def test_batch_size_from_free_memory(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10_000, 80_000))
    cuda = torch.device("cuda", 0)
    assert dev.batch_size_for(cuda, 64, 100) == 50  # half of 10,000 bytes free, 100 bytes an image
    assert dev.batch_size_for(cuda, 4, 1) == 32  # at most 8x the default
    assert dev.batch_size_for(cuda, 64, 10**9) == 1  # at least one
    assert dev.batch_size_for(torch.device("cpu"), 64, 100) == 64


@pytest.mark.parametrize(("setting", "bf16", "expected"), [
    ("auto", True, torch.bfloat16), ("auto", False, torch.float16), ("off", True, None), ("fp16", True, torch.float16)])
def test_amp_dtype_on_cuda(monkeypatch, setting, bf16, expected) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert dev.amp_dtype(torch.device("cuda", 0), setting) is expected
    assert dev.amp_dtype(torch.device("cpu"), "auto") is None
