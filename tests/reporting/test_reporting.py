"""Reporting from stored results alone: statistics, the LaTeX table, significance, figures, pages,
determinism and bad input. The run directory is synthetic, with a planted winner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from support import LEVELS, METRICS_INFO, SAMPLES, SEEDS, write_run

from iabench.cli import main
from iabench.errors import UserError
from iabench.refresh import metric_records
from iabench.reporting import build_report, read_long_csv
from iabench.reporting.page.tables import escape, summary_tex
from iabench.reporting.summary import significance
from iabench.stats import bootstrap_ci, holm


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    write_run(path)
    written = build_report(path)
    return path, written


def tex_cell(tex: str, row_prefix: str, column: str) -> str:
    header = next(line for line in tex.splitlines() if line.startswith("Model & Explainer"))
    index = [c.strip() for c in header.removesuffix(r"\\").split("&")].index(column)
    line = next(line for line in tex.splitlines() if line.startswith(row_prefix))
    return line.removesuffix(r"\\").split("&")[index]


def test_summary_matches_pandas_and_counts_failures(built) -> None:
    path, _ = built
    summary = pd.read_csv(path / "summary.csv", keep_default_na=False, na_values={"mean": ["nan"]})
    assert list(summary.columns) == ["model", "explainer", "metric", "direction", "mean", "std", "ci_low",
                                     "ci_high", "n", "n_failed", "n_seeds", "seed_mean", "seed_ci_low", "seed_ci_high",
                                     "baseline_is_substrate", "substrate", "unit", "resolution"]
    protocols = summary.drop_duplicates("metric").set_index("metric")
    assert protocols.loc["deletion", ["substrate", "unit"]].tolist() == ["zeros", "pixel"]
    assert protocols.loc["sparseness", ["substrate", "unit"]].tolist() == ["", ""]  # not a curve metric
    assert set(summary.resolution[summary.explainer == "rollout"]) == {"patch"}
    results = read_long_csv(path / "results.csv")
    grouped = results.groupby(["model", "explainer", "metric"]).value
    means, stds, counts = grouped.mean(), grouped.std(), grouped.count()
    assert len(summary) == len(means) == 6 * 3 + 3
    for row in summary.itertuples():
        key = (row.model, row.explainer, row.metric)
        assert row.mean == pytest.approx(means[key], rel=1e-8)
        assert row.std == pytest.approx(stds[key], rel=1e-8)
        assert row.n == counts[key]
        assert row.ci_low <= row.mean <= row.ci_high
        assert row.direction == METRICS_INFO[row.metric]["direction"]
    failed = summary[summary.n_failed > 0]
    assert failed[["model", "explainer", "metric"]].values.tolist() == [["vit", "random", "insertion"]]
    assert failed.n.iloc[0] == len(SEEDS) * SAMPLES - 2 and failed.n_failed.iloc[0] == 2
    # the interpreter's deletion CI is narrow around 0.2 and far from the others
    ia = summary.set_index(["model", "explainer", "metric"]).loc[("ia-vit", "ia-vit", "deletion")]
    assert 0.18 < ia.ci_low < ia.ci_high < 0.22


def test_bootstrap_ci_edge_cases_and_holm_by_hand() -> None:
    assert bootstrap_ci(np.array([0.5])) == (0.5, 0.5)
    assert bootstrap_ci(np.full(10, 2.0)) == (2.0, 2.0)
    low, high = bootstrap_ci(np.arange(100.0))
    assert 40 < low < 49.5 < high < 59
    assert bootstrap_ci(np.arange(100.0)) == (low, high)  # fixed seed
    # Holm by hand: m = 4, sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03, 0.005])), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm(np.array([0.5, 0.9])), [1.0, 1.0])
    np.testing.assert_allclose(holm(np.array([0.01, np.nan, 0.04])), [0.02, np.nan, 0.04])  # NaN not counted


def test_significance_finds_the_planted_difference_only(built) -> None:
    path, _ = built
    tests = pd.read_csv(path / "significance.csv", keep_default_na=False)
    assert list(tests.columns) == ["metric", "model", "explainer", "reference", "unit", "n", "mean_diff", "ci_low",
                                   "ci_high", "statistic", "p_value", "p_holm", "significant", "better", "family"]
    assert set(tests.family[tests.metric == "deletion"]) == {"deletion: 5 comparisons with ia-vit/ia-vit"}
    tests = tests.set_index(["metric", "model", "explainer"])
    # 5 (model, explainer) pairs against the interpreter per metric, the plain ViT's included
    assert len(tests) == 3 * 5 and set(tests.reference) == {"ia-vit/ia-vit"}
    for metric in ("deletion", "insertion"):
        for model, explainer in [k for k in LEVELS if k != ("ia-vit", "ia-vit") and k != ("vit", "rollout")]:
            row = tests.loc[(metric, model, explainer)]
            assert row.p_holm < 0.05 and bool(row.significant), (metric, model, explainer)
            assert row.better == "reference"  # the interpreter: lower deletion, higher insertion
            assert row.n == (len(SEEDS) * SAMPLES - (2 if (model, explainer, metric) ==
                                                     ("vit", "random", "insertion") else 0))
    # null: same distribution, independent noise
    null = tests.loc[("sparseness", "ia-vit", "attention")]
    assert null.p_holm > 0.05 and not bool(null.significant)
    # identical scores: all-zero differences -> p = 1, a tie
    same = tests.loc[("deletion", "vit", "rollout")]
    assert same.p_value == 1.0 and same.better == "tie" and not bool(same.significant)
    # vit/random beats the interpreter on sparseness (higher is better)
    assert tests.loc[("sparseness", "vit", "random"), "better"] == "method"
    # Holm within each metric, recomputed from the raw p-values
    for _, part in tests.groupby(level="metric"):
        np.testing.assert_allclose(part.p_holm, holm(part.p_value.to_numpy()), rtol=1e-8)


def test_significance_pairs_by_seed_and_sample() -> None:
    """The method is the reference shifted by +1 on the same (seed, sample): every pair differs by exactly 1
    when pairing goes by the keys, whatever the row order."""
    rows = [(seed, model, explainer, sample, sample * 10.0 + seed + (1.0 if explainer == "m" else 0.0))
            for seed in (0, 1) for model, explainer in (("ia-vit", "ia-vit"), ("vit", "m")) for sample in range(8)]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "sample", "value"]).assign(metric="d")
    tests = significance(frame.iloc[::-1], {"d": "lower"})
    assert tests.mean_diff.tolist() == [1.0] and tests.n.tolist() == [16] and tests.better.tolist() == ["reference"]
    assert (tests.ci_low.item(), tests.ci_high.item(), tests.p_value.item()) == (1.0, 1.0, 0.0)  # no spread: exact


def test_latex_table_bold_best_per_direction_and_compiles(built, tmp_path) -> None:
    path, _ = built
    tex = (path / "summary.tex").read_text()
    assert tex.count(r"\begin{tabular}") == 2  # explanation metrics; model-level metrics
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 2
    # a curve metric's column names its protocol (substrate, unit); other metrics their label alone
    assert r"deletion (zeros, pixel) $\downarrow$" in tex and r"insertion (zeros, pixel) $\uparrow$" in tex
    assert r"agreement-kl $\downarrow$" in tex
    assert "trapezoid AUC" in tex
    # lower is better on deletion, higher on insertion: the interpreter's row (on deletion tied with vit/rollout,
    # its exact copy: both bold); sparseness: vit/random
    for column, best in ((r"deletion (zeros, pixel) $\downarrow$", {"ia-vit & ia-vit", "vit & rollout"}),
                         (r"insertion (zeros, pixel) $\uparrow$", {"ia-vit & ia-vit"}),
                         (r"sparseness $\uparrow$", {"vit & random"})):
        for model, explainer in LEVELS:
            cell = tex_cell(tex, f"{model} & {explainer} &", column)
            assert (r"\textbf{" in cell) == (f"{model} & {explainer}" in best), (column, model, explainer, cell)
    assert re.search(r"\\textbf\{0\.2\d\d \$\\pm\$ 0\.0\d\d\}", tex)  # mean +- CI half-width
    # structure: every row has as many cells as the column spec, braces balance
    for block in tex.split(r"\begin{tabular}{")[1:]:
        spec, body = block.split("}", 1)
        for line in body.split(r"\end{tabular}")[0].splitlines():
            if line.endswith(r"\\"):
                assert line.count("&") - line.count(r"\&") == len(spec) - 1, line
    assert tex.count("{") - tex.count(r"\{") == tex.count("}") - tex.count(r"\}")
    document = tmp_path / "doc.tex"
    document.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + tex
                        + "\n\\end{document}\n")
    if shutil.which("pdflatex"):  # compile when TeX is there (it is not installed on the dev machine)
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout[-2000:]


def test_latex_escapes_special_characters() -> None:
    assert escape("a_b&c%d#e$f{g}~^\\") == (r"a\_b\&c\%d\#e\$f\{g\}\textasciitilde{}\textasciicircum{}"
                                            r"\textbackslash{}")
    summary = pd.DataFrame([dict(model="vit", explainer="grad_cam&x%", metric="del_auc#", direction="lower",
                                 mean=0.5, std=0.1, ci_low=0.4, ci_high=0.6, n=3, n_failed=0)])
    tex = summary_tex(summary, ["del_auc#"], "Curve metrics: del_auc# = trapezoid AUC.")
    assert r"vit & grad\_cam\&x\% & \textbf{0.500 $\pm$ 0.100} \\" in tex
    assert r"del\_auc\# $\downarrow$" in tex and r"del\_auc\# = trapezoid" in tex


def test_every_output_exists_and_the_pages_embed_the_figures(built) -> None:
    path, written = built
    expected = ["summary.csv", "summary.tex", "significance.csv", "stability.csv", "critical_difference.csv",
                "verdict.csv", "verdict.md", "report.md", "report.html", "critical-difference-faithfulness.png"]
    expected += [f"plots/{name}.{ext}" for name in ("curves_deletion", "curves_insertion", "auc_bars",
                                                    "heatmaps_ia-vit", "heatmaps_vit", "training", "headline")
                 for ext in ("png", "pdf")]
    assert sorted(str(p.relative_to(path)) for p in written) == sorted(expected)
    for name in expected:
        assert (path / name).stat().st_size > (1000 if name.endswith((".png", ".pdf")) else 100), name
        if name.endswith(".png"):
            assert (path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 8 and "plots/" not in page.split("<body>")[1]
    assert "abc123" in page and "deadbeef" in page  # manifest facts
    # bold best in the HTML table too (deletion ~0.2), its mean the cell's sort key
    assert re.search(r'<td data-value="0\.(19|20)\d*"><b>0\.(19|20)\d \[[^<]*</b><br><small>seeds \[', page)
    assert "<strong>deletion</strong> ↓" in page and "Holm" in page and "<td>Qiang 2023</td>" in page
    md = (path / "report.md").read_text()
    assert md.count("](plots/") == 7 and "2 scores are NaN" in md and "vit/random/insertion 2" in md
    assert "**deletion** ↓" in md and "| deletion | ia-vit | attention |" in md


def test_rebuild_is_byte_identical(built, tmp_path) -> None:
    path, _ = built
    for name in ("results.csv", "curves.csv", "metrics.json", "explainers.json", "training.csv", "heatmaps.npz",
                 "manifest.json"):
        shutil.copy(path / name, tmp_path / name)
    build_report(tmp_path)
    for name in ("summary.csv", "summary.tex", "significance.csv", "stability.csv", "verdict.csv", "verdict.md",
                 "report.md"):
        assert (tmp_path / name).read_bytes() == (path / name).read_bytes(), name


def test_missing_optional_inputs_are_skipped(tmp_path) -> None:
    write_run(tmp_path, optional=False)
    written = {str(p.relative_to(tmp_path)) for p in build_report(tmp_path)}
    # the bar chart comes from summary.csv; curves, heatmaps and training need their own files
    assert written == {"summary.csv", "summary.tex", "significance.csv", "stability.csv", "critical_difference.csv",
                       "verdict.csv", "verdict.md", "report.md", "report.html", "plots/auc_bars.png",
                       "plots/auc_bars.pdf", "plots/headline.png", "plots/headline.pdf",
                       "critical-difference-faithfulness.png"}
    assert "## Figures: Scores with intervals" in (tmp_path / "report.md").read_text()


def test_bad_input_is_a_clear_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="no results.csv"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("run,seed,model,explainer,metric,sample,value\n")
    with pytest.raises(UserError, match="no rows"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("")
    with pytest.raises(UserError, match="empty"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("run,seed,model,metric,value\nr,0,vit,accuracy,1\n")
    with pytest.raises(UserError, match="lacks the column"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("run,seed,model,explainer,metric,sample,value\nr,0,vit,-,accuracy,0,1\n")
    with pytest.raises(UserError, match="metrics.json"):
        build_report(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"deletion": {"direction": "lower"}}))
    with pytest.raises(UserError, match="no entry .* accuracy"):
        build_report(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"accuracy": {"direction": "higher"}}))  # an earlier run
    with pytest.raises(UserError, match=f"^'{tmp_path}' was written by an earlier iabench \\(metrics.json lacks name, "
                                        f".*; run `iabench refresh {tmp_path}` once, then report it$"):
        build_report(tmp_path)
    assert main(["refresh", str(tmp_path)]) == 0  # completed once from the registry, then reported
    assert json.loads((tmp_path / "metrics.json").read_text())["accuracy"]["family"] == "model"
    assert "report.html" in {p.name for p in build_report(tmp_path)}


def test_all_failed_and_single_sample_groups_do_not_crash(tmp_path) -> None:
    """An explainer whose every score is NaN, and a group of one sample: reported, not fatal."""
    (tmp_path / "metrics.json").write_text(json.dumps(metric_records({"deletion": {"direction": "lower",
                                                                                "auc": "mean"}})))
    rows = ["run,seed,model,explainer,metric,sample,value", "r,0,ia-vit,ia-vit,deletion,0,0.2",
            "r,0,ia-vit,broken,deletion,0,nan", "r,0,vit,attention,deletion,0,0.5"]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    build_report(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("explainer")
    assert np.isnan(summary.loc["broken", "mean"]) and summary.loc["broken", "n_failed"] == 1
    assert summary.loc["attention", "ci_low"] == summary.loc["attention", "ci_high"] == 0.5
    tex = (tmp_path / "summary.tex").read_text()
    assert "ia-vit & broken & --" in tex and "mean of step scores" in tex
    tests = pd.read_csv(tmp_path / "significance.csv")
    assert tests.explainer.tolist() == ["attention"] and tests.n.tolist() == [1]
    assert np.isnan(tests.p_value.item()) and not tests.significant.item()  # one pair: no t-test, no verdict
