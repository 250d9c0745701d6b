"""Reporting: every table, statistic and figure of a run, rebuilt from its stored files alone.

``build_report(run_dir)`` reads results.csv, metrics.json (required), curves.csv, explainers.json,
training.csv, heatmaps.npz, manifest.json and models.json (optional), and writes summary.csv, summary.tex,
significance.csv, stability.csv (ranking reliability, see stability.py), verdict.csv and verdict.md (when
the run has a reference IA-ViT, see verdict.py), plots/*.png|pdf, and report.md and a self-contained
report.html from the Jinja2 templates in templates/ (see page.py; the verdict first). No model is loaded and
nothing is recomputed; the CSV, TeX and Markdown outputs are byte-identical for the same inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import VerdictConfig, from_dict
from ..errors import UserError
from ..records import check_records
from ..store import CURVE_COLUMNS, RESULT_COLUMNS
from .bias import baseline_is_substrate
from .critical_difference import critical_difference
from .family_tables import column_title
from .opening import answer, run_lines
from .page import facts, sections, write_reports
from .plots import auc_bars, curve_plots, heatmap_grid, training_plots
from .protocols import control_markdown, unit_markdown, with_protocols
from .stability import stability
from .stats import significance, summarise
from .tables import summary_tex
from .trust import trust_lines, trust_markdown
from .verdict import variants, verdict
from .verdict_text import verdict_markdown

__all__ = ["build_report", "read_long_csv"]

FLOAT_FORMAT = "%.10g"  # fixed text for floats: deterministic files, ample precision for re-analysis


def read_long_csv(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """results.csv / curves.csv with labels kept as written (pandas would read an explainer labelled
    'null' or 'NA' as missing) and NaN only in the value column; a missing column is a UserError."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["nan", "NaN", ""]},
                            dtype={"model": str, "explainer": str, "metric": str})
    except pd.errors.EmptyDataError:
        raise UserError(f"'{path}' is empty (not even a header); run the suite (again) to compute it") from None
    missing = [c for c in (columns or []) if c not in frame.columns]
    if missing:
        raise UserError(f"'{path}' lacks the column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    if "value" in frame:
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")  # a stray text value counts as failed
    return frame


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"'{path}' is not valid JSON ({error}); re-run the suite to rewrite it") from None


def auc_note(metrics_info: dict, metrics: list[str]) -> str:
    """Which AUC the curve metrics report (metrics.json "auc"): trapezoid area or mean of step scores."""
    kinds = {"trapezoid": "trapezoid AUC", "mean": "mean of step scores"}
    shown = [f"{m} = {kinds.get(metrics_info[m]['auc'], metrics_info[m]['auc'])}" for m in metrics
             if metrics_info.get(m, {}).get("auc")]
    return f"Curve metrics: {', '.join(shown)}." if shown else ""


def build_report(run_dir: Path) -> list[Path]:
    """Write every output of the run in ``run_dir`` from its stored files; returns the written paths."""
    run_dir = Path(run_dir)
    results_path = run_dir / "results.csv"
    if not results_path.exists():
        raise UserError(f"'{run_dir}' holds no results.csv; give a run folder such as reports/faithfulness/<id>")
    results = read_long_csv(results_path, RESULT_COLUMNS)
    if results.empty:
        raise UserError(f"'{results_path}' has no rows yet; run the suite (again) to compute them")
    if not (run_dir / "metrics.json").exists():
        raise UserError(f"'{run_dir}' holds no metrics.json (each metric's direction); re-run the suite to write it")
    metrics_info = _read_json(run_dir / "metrics.json")
    unknown = sorted(set(results.metric) - set(metrics_info))
    if unknown:
        raise UserError(f"metrics.json has no entry (direction) for {', '.join(unknown)}; re-run the suite")
    directions = {name: info.get("direction", "higher") for name, info in metrics_info.items()}
    order = [m for m in metrics_info if m in set(results.metric)]
    written = []

    summary = summarise(results, directions)
    explainers_info = _read_json(run_dir / "explainers.json")
    check_records(run_dir, metrics_info, explainers_info)
    summary["baseline_is_substrate"] = baseline_is_substrate(summary, explainers_info, metrics_info)
    summary = with_protocols(summary, metrics_info, explainers_info)
    summary.to_csv(run_dir / "summary.csv", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    written.append(run_dir / "summary.csv")
    note = auc_note(metrics_info, order)
    (run_dir / "summary.tex").write_text(summary_tex(summary, order, note, {m: column_title(m, metrics_info)
                                                                          for m in order}))
    written.append(run_dir / "summary.tex")
    tests = significance(results, directions)
    tests.to_csv(run_dir / "significance.csv", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    written.append(run_dir / "significance.csv")
    ranking = stability(results, metrics_info)
    if not ranking.empty:
        ranking.to_csv(run_dir / "stability.csv", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        written.append(run_dir / "stability.csv")
    cd_paths, cd_table = critical_difference(results, metrics_info, run_dir, explainers_info)
    if cd_paths:
        cd_table.to_csv(run_dir / "critical_difference.csv", index=False, float_format=FLOAT_FORMAT,
                        lineterminator="\n")
        written += [run_dir / "critical_difference.csv", *cd_paths]
    trust_md = trust_markdown(trust_lines(ranking, metrics_info), ranking, cd_paths, run_dir)

    models_info, manifest = _read_json(run_dir / "models.json"), _read_json(run_dir / "manifest.json")
    verdict_md, claims = "", None
    if variants(models_info, set(results.model))[0]:  # the claims are about a reference IA-ViT: none, no verdict
        settings = from_dict(VerdictConfig, (manifest.get("config") or {}).get("verdict"), "verdict")
        claims = verdict(results, metrics_info, models_info, explainers_info, settings)
        claims.to_csv(run_dir / "verdict.csv", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        verdict_md = verdict_markdown(claims, models_info, settings)
        suite = manifest.get("suite", run_dir.parent.name)
        (run_dir / "verdict.md").write_text(f"# Verdict: {suite}\n\n{verdict_md}")
        written += [run_dir / "verdict.csv", run_dir / "verdict.md"]

    # figures: each one only when its input exists and holds something to draw
    plots = run_dir / "plots"
    figures: dict[str, list[Path]] = {}
    curves_path = run_dir / "curves.csv"
    if curves_path.exists():
        curves = read_long_csv(curves_path, CURVE_COLUMNS).dropna(subset=["value"])
        if not curves.empty:
            figures["curves"] = curve_plots(curves, plots, explainers_info, metrics_info)
    bar_metrics = [m for m in order if metrics_info.get(m, {}).get("curve") or metrics_info.get(m, {}).get("auc")]
    if bar_metrics:
        figures["bars"] = auc_bars(summary, plots, bar_metrics)
    if (run_dir / "heatmaps.npz").exists():
        with np.load(run_dir / "heatmaps.npz") as archive:
            figures["heatmaps"] = heatmap_grid({k: archive[k] for k in archive.files}, plots, explainers_info)
    if (run_dir / "training.csv").exists():
        training = pd.read_csv(run_dir / "training.csv")
        if not training.empty and "model" in training:
            figures["training"] = training_plots(training, plots)
    figures = {kind: paths for kind, paths in figures.items() if paths}
    for paths in figures.values():
        written += paths
    protocol_md = {"controls": control_markdown(summary, metrics_info, explainers_info),
                   "units": unit_markdown(summary, metrics_info, explainers_info)}
    page = sections(summary, tests, figures, metrics_info, explainers_info, models_info, order, note, verdict_md,
                    trust_md, protocol_md)
    ran = run_lines(manifest, models_info, metrics_info, explainers_info)
    says = answer(summary, metrics_info, explainers_info, claims, models_info)
    written += write_reports(run_dir, str(manifest.get("suite", run_dir.parent.name)), facts(manifest, run_dir),
                             manifest.get("config") or {}, page, ran, says)
    return written
