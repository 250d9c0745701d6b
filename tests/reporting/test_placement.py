"""What the placement changes (placement.csv): the runs that pair, each explainer's change and the patch-minus-pixel
change with its interval, on hand-made runs whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iabench.config import DataConfig
from iabench.data import dataset_class, dataset_options
from iabench.records import DatasetRecord, ExplainerRecord, MetricRecord
from iabench.reporting.ground_truth.pairs import placement_pairs
from iabench.reporting.ground_truth.placement import placement_change, placement_markdown
from iabench.reporting.run_files import RunFiles

EXPLAINERS = {"p": "patch", "x1": "pixel", "x2": "pixel", "random": "pixel"}
# aligned scores: p 0.9, x1 0.8, x2 0.6, random 0.5 on every image; straddling: p loses 0.2 + 0.01 seed, x1 and x2
# lose 0.05 (x2 on average: -0.02 and -0.08 on its two images), random 0.3 (a control: left out)
ALIGNED = {"p": 0.9, "x1": 0.8, "x2": 0.6, "random": 0.5}


def straddled(explainer: str, seed: int, image: int) -> float:
    loss = {"p": 0.2 + 0.01 * seed, "x1": 0.05, "x2": (0.02, 0.08)[image], "random": 0.3}[explainer]
    return ALIGNED[explainer] - (loss if isinstance(loss, float) else loss)


def _run(folder: Path, placement: str, seeds: list[int], task: str = "motif", decoys: int = 2) -> RunFiles:
    folder.mkdir()
    value = (lambda e, s, k: ALIGNED[e]) if placement == "cell" else straddled
    pd.DataFrame([dict(run="r", seed=s, model="vit", explainer=e, metric=m, sample=k, value=value(e, s, k))
                  for s in seeds for e in EXPLAINERS for m in ("evidence-auc", "foreground-mass[patch]")
                  for k in range(2)]).to_csv(folder / "results.csv", index=False)
    (folder / "metrics.json").write_text(json.dumps({
        "evidence-auc": MetricRecord(name="evidence-auc", unit="pixel").to_json(),
        "foreground-mass[patch]": MetricRecord(name="foreground-mass", unit="patch").to_json()}))
    (folder / "explainers.json").write_text(json.dumps({e: ExplainerRecord(
        name=e, resolution=r, family="control" if e == "random" else "gradient").to_json()
        for e, r in EXPLAINERS.items()}))
    options = dataset_options(DataConfig(name="evidence-fashion-mnist", img_size=56,
                                         options=dict(task=task, placement=placement, decoys=decoys)))
    truth = dataset_class("evidence-fashion-mnist").ground_truth.record(options)
    (folder / "manifest.json").write_text(json.dumps(dict(dataset=DatasetRecord(
        name="evidence-fashion-mnist", options=dict(vars(options)), ground_truth=truth).to_json())))
    return RunFiles.read(folder)


def test_each_explainer_changes_by_its_known_amount(tmp_path) -> None:
    table = placement_change(_run(tmp_path / "a", "cell", [0, 1, 2]), _run(tmp_path / "b", "anywhere", [0, 1, 2]),
                             delta=0.02, alpha=0.05)
    rows = table[(table.kind == "explainer") & (table.truth == "evidence-auc")].set_index("explainer")
    assert sorted(rows.index) == ["p", "x1", "x2"]  # the control left out
    assert rows.change["p"] == pytest.approx(-0.21, abs=1e-12)  # -(0.20 + 0.21 + 0.22) / 3
    assert rows.change["x2"] == pytest.approx(-0.05, abs=1e-12) and rows.aligned["x1"] == pytest.approx(0.8)
    assert rows.resolution["p"] == "patch" and rows.seeds["p"] == 3


def test_patch_minus_pixel_is_tested_over_seeds(tmp_path) -> None:
    table = placement_change(_run(tmp_path / "a", "cell", [0, 1, 2]), _run(tmp_path / "b", "anywhere", [0, 1, 2]),
                             delta=0.02, alpha=0.05)
    gap = table[(table.kind == "resolution") & (table.truth == "foreground-mass[patch]")].iloc[0]
    d = np.array([-0.15, -0.16, -0.17])  # per seed: the patch map's change minus the pixel maps' -0.05
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert (gap.unit, gap.n) == ("seeds", 3) and gap.change == pytest.approx(-0.16, abs=1e-12)
    assert (gap.ci_low, gap.ci_high) == (pytest.approx(-0.16 - half, abs=1e-9), pytest.approx(-0.16 + half, abs=1e-9))
    assert gap.p_value == pytest.approx(stats.ttest_1samp(d, 0).pvalue, rel=1e-9)
    assert "the patch maps' change minus the pixel maps' -0.160 [" in placement_markdown(table)


def test_with_one_seed_the_interval_is_over_images_and_nothing_is_tested(tmp_path) -> None:
    table = placement_change(_run(tmp_path / "a", "cell", [0]), _run(tmp_path / "b", "anywhere", [0]), 0.02, 0.05)
    gap = table[(table.kind == "resolution") & (table.truth == "evidence-auc")].iloc[0]
    # seed 0: p -0.20, x1 -0.05, x2 -0.02 or -0.08 by image: d = -0.15 on both images, -0.165 when a resample
    # draws image 0 twice and -0.135 image 1 twice (each with chance 1/4: the 2.5 and 97.5 percentiles)
    assert gap.change == pytest.approx(-0.15, abs=1e-12) and gap.unit == "images" and np.isnan(gap.p_value)
    assert (gap.ci_low, gap.ci_high) == (pytest.approx(-0.165, abs=1e-12), pytest.approx(-0.135, abs=1e-12))
    assert "no test: 1 seed" in placement_markdown(table)


def test_runs_pair_by_task_and_canvases_aligned_first(tmp_path) -> None:
    cell, anywhere = _run(tmp_path / "a", "cell", [0]), _run(tmp_path / "b", "anywhere", [0])
    garment = _run(tmp_path / "c", "cell", [0], task="garment")
    decoys = _run(tmp_path / "d", "cell", [0], decoys=3)
    pairs = placement_pairs([anywhere, garment, decoys, cell])
    assert [(a.path.name, s.path.name) for a, s in pairs] == [("a", "b")]
    assert placement_pairs([cell, garment]) == []
