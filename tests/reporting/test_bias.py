"""Cells where the explainer's own baseline is the metric's substrate are flagged and marked."""

from __future__ import annotations

import json

import pandas as pd
from support import METRICS_INFO, write_run

from iabench.baselines import EXPLAINERS
from iabench.metrics import create_metric
from iabench.reporting import build_report


def test_declared_baselines_and_substrates() -> None:
    declared = {name: EXPLAINERS.get(name).baseline for name in EXPLAINERS.names()}
    assert {n for n, b in declared.items() if b} == {"integrated-gradients", "occlusion", "input-x-gradient", "rise",
                                                    "integrated-gradients[blur]", "integrated-gradients[uniform]"}
    assert set(declared.values()) == {None, "zeros", "blur", "noise"}  # each a substrate of the perturbation metrics
    assert create_metric("deletion").protocol() == {
        "substrate": "zeros", "unit": "pixel", "auc": "trapezoid",
        "curve_axes": ["fraction of pixels removed", "target-class probability"]}
    assert create_metric("insertion", substrate="blur", unit="patch", auc="mean", score="accuracy").protocol() == dict(
        substrate="blur", unit="patch", auc="mean",
        curve_axes=["fraction of patches inserted", "target-class top-1 correctness"])
    assert create_metric("morf", substrate="road").protocol()["unit"] == "patch"  # MoRF: patches
    assert create_metric("deletion", substrate="black", black_value=[-1.0]).protocol()["black_value"] == [-1.0]
    assert create_metric("sparseness").protocol() == {"substrate": None, "unit": None, "auc": None,
                                                      "curve_axes": None}


def test_flagged_cells_in_summary_html_and_tex(tmp_path) -> None:
    write_run(tmp_path)
    info = json.loads((tmp_path / "explainers.json").read_text())
    info["rollout"]["baseline"] = "zeros"  # pretend rollout started from zeros: only its zeros cells are flagged
    (tmp_path / "explainers.json").write_text(json.dumps(info))
    metrics = {**METRICS_INFO, "deletion": {**METRICS_INFO["deletion"], "substrate": "zeros"},
               "insertion": {**METRICS_INFO["insertion"], "substrate": "blur"}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    build_report(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    flagged = summary[summary.baseline_is_substrate]
    assert list(zip(flagged.model, flagged.explainer, flagged.metric)) == [("vit", "rollout", "deletion")]
    page = (tmp_path / "report.html").read_text()
    assert page.count("] †") == 1 and "biased in its favour" in page  # the cell, and the note under the table
    tex = (tmp_path / "summary.tex").read_text()
    assert tex.count(r"$^\dagger$") == 2  # the cell and the caption's note


def test_runs_without_the_fields_get_no_marks(tmp_path) -> None:
    write_run(tmp_path)
    build_report(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert not summary.baseline_is_substrate.any()
    assert "†" not in (tmp_path / "report.html").read_text()
