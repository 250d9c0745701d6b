"""Reporting from stored results alone: statistics, the LaTeX table, significance, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from iabench.errors import UserError
from iabench.reporting import build_report, read_long_csv
from iabench.reporting.stats import bootstrap_ci, holm


def synthetic_run(path, n: int = 30) -> None:
    """2 models x 3 explainers x 2 metrics; IA-ViT's interpreter clearly best on deletion, 'null' equal to it."""
    rng = np.random.default_rng(0)
    rows, curves = [], []
    base = {"ia-vit": 0.20, "rollout": 0.40, "null": 0.20}
    for model in ("vit", "ia-vit"):
        for explainer, level in base.items():
            if explainer == "ia-vit" and model == "vit":
                continue
            noise = rng.normal(0, 0.02, n)
            for sample in range(n):
                value = level + noise[sample] if explainer != "null" else None
                rows.append(("r", 0, model, explainer, "deletion", sample, value))
                rows.append(("r", 0, model, explainer, "insertion", sample, 1 - level + noise[sample]))
                for x in (0.0, 0.5, 1.0):
                    curves.append(("r", 0, model, explainer, "deletion", sample, x, 1 - x * (1 - level)))
        rows += [("r", 0, model, "-", "accuracy", s, float(s % 2)) for s in range(n)]
    frame = pd.DataFrame(rows, columns=["run", "seed", "model", "explainer", "metric", "sample", "value"])
    # the null method equals the interpreter exactly on every sample: p must be 1
    ref = frame[(frame.model == "ia-vit") & (frame.explainer == "ia-vit") & (frame.metric == "deletion")]
    for model in ("vit", "ia-vit"):
        mask = (frame.model == model) & (frame.explainer == "null") & (frame.metric == "deletion")
        frame.loc[mask, "value"] = ref["value"].to_numpy()
    frame.loc[frame.index[3], "value"] = np.nan  # a failed explanation
    frame.to_csv(path / "results.csv", index=False)
    pd.DataFrame(curves, columns=["run", "seed", "model", "explainer", "metric", "sample", "x", "value"]).to_csv(
        path / "curves.csv", index=False)
    (path / "metrics.json").write_text(json.dumps({
        "deletion": {"name": "deletion", "direction": "lower", "auc": "trapezoid", "reference": "RISE"},
        "insertion": {"name": "insertion", "direction": "higher", "auc": "trapezoid", "reference": "RISE"},
        "accuracy": {"name": "accuracy", "direction": "higher", "reference": ""}}))
    (path / "manifest.json").write_text(json.dumps({"suite": "test", "run_id": "r", "timings": {"total": 1.0}}))


def test_summary_statistics(tmp_path) -> None:
    synthetic_run(tmp_path)
    build_report(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False, na_values={"mean": ["nan"]})
    results = read_long_csv(tmp_path / "results.csv")
    means = results.groupby(["model", "explainer", "metric"]).value.mean()
    for _, row in summary.iterrows():
        assert row["mean"] == pytest.approx(means[(row.model, row.explainer, row.metric)], rel=1e-5)
        assert row.ci_low <= row["mean"] <= row.ci_high
    failed = summary[summary.n_failed > 0]
    assert len(failed) == 1 and failed.n.iloc[0] == 29


def test_bootstrap_ci_and_holm_by_hand() -> None:
    assert bootstrap_ci(np.array([0.5])) == (0.5, 0.5)
    assert bootstrap_ci(np.full(10, 2.0)) == (2.0, 2.0)
    low, high = bootstrap_ci(np.arange(100.0))
    assert 40 < low < 49.5 < high < 59
    # Holm by hand: p sorted 0.01, 0.02, 0.04 with m=3 -> 0.03, 0.04, 0.04 (monotone), back in input order
    np.testing.assert_allclose(holm(np.array([0.04, 0.01, 0.02])), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(holm(np.array([0.5, 0.9])), [1.0, 1.0])


def test_significance_finds_the_planted_difference_only(tmp_path) -> None:
    synthetic_run(tmp_path)
    build_report(tmp_path)
    tests = pd.read_csv(tmp_path / "significance.csv", keep_default_na=False)
    tests = tests.set_index(["metric", "model", "explainer"])
    assert tests.loc[("deletion", "ia-vit", "rollout"), "p_holm"] < 0.05
    assert tests.loc[("deletion", "ia-vit", "rollout"), "better"] == "reference"  # lower deletion is better
    assert tests.loc[("deletion", "vit", "null"), "p_value"] == 1.0
    assert not tests.loc[("deletion", "ia-vit", "null"), "significant"]


def test_latex_table_marks_the_best_cell(tmp_path) -> None:
    synthetic_run(tmp_path)
    build_report(tmp_path)
    tex = (tmp_path / "summary.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and tex.count(r"\begin{tabular}") == 1
    assert r"deletion $\downarrow$" in tex and r"insertion $\uparrow$" in tex
    header = next(line for line in tex.splitlines() if line.startswith("Model &"))
    column = [c.strip() for c in header.rstrip("\\ ").split("&")].index(r"deletion $\downarrow$")

    def cell(prefix: str) -> str:
        return next(line for line in tex.splitlines() if line.startswith(prefix)).split("&")[column]

    assert r"\textbf{" in cell("ia-vit & ia-vit")  # lowest deletion (tied with 'null', also bold)
    assert r"\textbf{" in cell("vit & null")
    assert r"\textbf{" not in cell("ia-vit & rollout") and r"\textbf{" not in cell("vit & rollout")
    assert "trapezoid AUC" in tex
    columns = tex.split(r"\begin{tabular}{")[1].split("}")[0]
    for line in tex.splitlines():
        if line.endswith(r"\\") and "&" in line:
            assert line.count("&") == len(columns) - 1


def test_report_files_are_deterministic_and_complete(tmp_path) -> None:
    synthetic_run(tmp_path)
    build_report(tmp_path)
    first = {n: (tmp_path / n).read_bytes() for n in ("summary.csv", "summary.tex", "significance.csv", "report.md")}
    build_report(tmp_path)
    for name, content in first.items():
        assert (tmp_path / name).read_bytes() == content, name
    assert (tmp_path / "plots" / "curves_deletion.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "auc_bars.pdf").exists()
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()
    assert not (tmp_path / "plots" / "training.png").exists()  # no training.csv: skipped, not an error


def test_empty_results_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "results.csv").write_text("run,seed,model,explainer,metric,sample,value\n")
    with pytest.raises(UserError, match="no rows"):
        build_report(tmp_path)
