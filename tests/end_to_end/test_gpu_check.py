"""The prepared GPU check (iabench/gpucheck) on the CPU, as CI runs it: every stage runs, the CPU is its own reference
(maps and scores equal exactly), and our deletion curves equal quantus.PixelFlipping's on RGB images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from iabench.gpucheck import MAP_TOLERANCE, NOISY_CORRELATION, map_agreement
from iabench.gpucheck.__main__ import main
from iabench.suites import load_suite

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_check_on_the_cpu(tmp_path, keep_tf32, capsys) -> None:
    assert main(["--device", "cpu", "--tiny", "--steps", "4", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    assert report["ok"] and report["tiny"] and report["image_size"] == 32
    assert {label for label in report["explainers"]} == {s.label for s in load_suite("paper").explainers} | {
        "smoothgrad", "rise"}
    for name, entry in report["explainers"].items():
        # the CPU against itself, in batches of other sizes: the same maps to rounding
        if name in ("smoothgrad", "rise"):
            assert entry["value"] > 1 - 1e-8, name
        else:
            assert entry["value"] < 1e-6, name
        assert entry["ms_per_image"] > 0 and entry["peak_memory_mib"] is None
    # No autocast on the CPU: both scorings are float32 on the same batch, so the drift is rounding at most. The
    # bound is far below what fp16 autocast moves a score (~1e-4) and above what a kernel that blocks its sums
    # differently from call to call could (~1e-9, seen 4.7e-10 when the batches differed)
    assert all(s["max_drift_from_float32"] <= 1e-6 for s in report["scores"].values())
    curves = report["curves"]
    # RGB: Quantus moves a third of a row per step; its every third point equals ours
    assert curves["max_curve_difference"] < 1e-6
    assert (curves["forwards_per_image"], curves["quantus_forwards_per_image"]) == (33, 96)
    assert report["training"]["ia-vit"]["steps"] == report["training"]["vit"]["steps"] == 4
    summary = (tmp_path / "gpu-check.txt").read_text()
    assert summary.splitlines()[0].startswith("iabench GPU check") and "(tiny)" in summary
    assert summary.rstrip().endswith("all checks passed") and summary in capsys.readouterr().out + "\n"


def test_map_agreement_by_hand() -> None:
    cpu = torch.tensor([[[1.0, -2.0], [0.5, 0.0]]], dtype=torch.float64)
    close = map_agreement("saliency", cpu, cpu + torch.tensor([[[0.0, 0.0018], [0.0, 0.0]]], dtype=torch.float64))
    assert close["value"] == pytest.approx(0.0009) and close["bound"] == MAP_TOLERANCE and close["ok"]
    far = map_agreement("saliency", cpu, cpu + torch.tensor([[[0.0, 0.0], [0.0025, 0.0]]], dtype=torch.float64))
    assert far["value"] == pytest.approx(0.00125) and not far["ok"]
    flipped = map_agreement("rise", cpu, -cpu)  # a noisy explainer: correlation, here -1
    assert flipped["value"] == pytest.approx(-1.0) and flipped["bound"] == NOISY_CORRELATION and not flipped["ok"]
    assert map_agreement("smoothgrad", torch.ones(1, 2, 2), torch.ones(1, 2, 2))["value"] == 1.0


def test_too_few_steps_is_one_line(tmp_path, capsys) -> None:
    assert main(["--device", "cpu", "--tiny", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "error: --steps 1: train at least 2 steps"


def test_the_script_runs_the_check_where_no_gpu_is(tmp_path) -> None:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--device", "cpu", "--tiny", "--steps",
                             "2", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PY=sys.executable, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    if not torch.cuda.is_available():
        assert (tmp_path / "cuda-tests.txt").read_text() == (
            "gpu_check: torch sees no GPU here; the CUDA tests are skipped\n")
    assert json.loads((tmp_path / "gpu-check.json").read_text())["ok"]
    assert result.stdout.rstrip().endswith("all checks passed")
