"""Device choice, mixed precision and batch sizes from free memory, the way torch users expect."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

import torch

from .errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' = CUDA (this process's LOCAL_RANK under torchrun) when available, else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            # ranks share the GPUs round-robin when there are more ranks than GPUs (then gloo: see backend_for)
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for CUDA but torch sees no GPU here; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps is not available on this machine; use --device cpu")
    return device


def amp_dtype(device: torch.device, setting: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``setting`` (auto: bf16 on GPUs that support it, else fp16; off on CPU)."""
    if setting == "off" or (setting == "auto" and device.type != "cuda"):
        return None
    if setting == "fp16":
        return torch.float16
    if setting == "bf16":
        return torch.bfloat16
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    raise UserError(f"unknown amp setting '{setting}'; use auto, off, fp16 or bf16")


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager:
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def batch_size_for(device: torch.device, default: int, bytes_per_item: int, fraction: float = 0.5) -> int:
    """On CUDA: as many items as fit in ``fraction`` of the free memory (at least 1, at most 8x the
    default); elsewhere the default."""
    if device.type != "cuda":
        return default
    free, _ = torch.cuda.mem_get_info(device)
    return max(1, min(default * 8, int(free * fraction) // max(1, bytes_per_item)))


def backend_for(device: torch.device, world: int) -> str:
    """The process group's backend: NCCL when each rank has a GPU of its own, gloo on the CPU and when ranks share a
    GPU (NCCL refuses two ranks on one device)."""
    if device.type == "cuda" and world <= torch.cuda.device_count():
        return "nccl"
    return "gloo"
