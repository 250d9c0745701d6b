"""The multi-process path: ``torchrun`` with two CPU processes (gloo) trains one model and caches it once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

MICRO = ["--set", "data.name=synthetic", "--set", "data.img_size=16", "--set", "model.img_size=16",
         "--set", "model.embed_dim=32", "--set", "model.depth=2", "--set", "model.num_heads=2",
         "--set", "train.epochs=1", "--set", "train.batch_size=32"]


def test_torchrun_two_processes(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29533", "-m", "iabench", "train", "--model", "ia-vit",
         "--device", "cpu", "--cache-dir", str(tmp_path), "--quiet", *MICRO],
        capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [line for line in result.stdout.splitlines() if line.startswith("ia-vit:")]
    assert len(reports) == 1  # only rank 0 reports
    checkpoints = list((tmp_path / "models").glob("ia-vit-*.pt"))
    assert len(checkpoints) == 1
    payload = torch.load(checkpoints[0], weights_only=True)
    steps = payload["history"][-1]["step"]
    assert steps == 2000 // 2 // 32  # each of the two processes saw half of the 2,000 training images
