"""Reporting: every table, statistic and figure of a run, rebuilt from its stored files alone.

``build_report(run_dir)`` reads results.csv, curves.csv, metrics.json, explainers.json, training.csv,
heatmaps.npz and manifest.json, and writes summary.csv, summary.tex, significance.csv, plots/*.png|pdf,
report.md and a self-contained report.html. No model is loaded and nothing is recomputed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .html import write_reports
from .plots import CURVE_METRICS, auc_bars, curve_plots, heatmap_grid, training_plots
from .stats import significance, summarise
from .tables import summary_tex

__all__ = ["build_report"]


def read_long_csv(path: Path) -> pd.DataFrame:
    """results.csv / curves.csv with labels kept as written (pandas would read an explainer labelled
    'null' or 'NA' as missing) and NaN only in the value column."""
    return pd.read_csv(path, keep_default_na=False, na_values={"value": ["nan", "NaN", ""]},
                       dtype={"model": str, "explainer": str, "metric": str})


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def build_report(run_dir: Path) -> list[Path]:
    """Write every output of the run in ``run_dir``; returns the written paths."""
    run_dir = Path(run_dir)
    results_path = run_dir / "results.csv"
    if not results_path.exists():
        raise UserError(f"'{run_dir}' holds no results.csv; give a run folder such as reports/faithfulness/<id>")
    results = read_long_csv(results_path)
    if results.empty:
        raise UserError(f"'{results_path}' has no rows yet; run the suite (again) to compute them")
    metrics_info = _read_json(run_dir / "metrics.json")
    directions = {name: info.get("direction", "higher") for name, info in metrics_info.items()}
    order = [m for m in metrics_info if m in set(results.metric)] + sorted(set(results.metric) - set(metrics_info))
    written = []

    summary = summarise(results, directions)
    summary.to_csv(run_dir / "summary.csv", index=False, float_format="%.6g")
    written.append(run_dir / "summary.csv")
    aucs = {info.get("auc") for name, info in metrics_info.items() if name in ("insertion", "deletion")}
    auc_note = ""
    if aucs - {None}:
        auc_note = ("Insertion/deletion: " + ", ".join(
            f"{name} = {'trapezoid AUC' if info.get('auc') == 'trapezoid' else 'mean of step scores'}"
            for name, info in metrics_info.items() if info.get("auc")) + ".")
    (run_dir / "summary.tex").write_text(summary_tex(summary, order, auc_note))
    written.append(run_dir / "summary.tex")
    tests = significance(results, directions)
    tests.to_csv(run_dir / "significance.csv", index=False, float_format="%.6g")
    written.append(run_dir / "significance.csv")

    plots = run_dir / "plots"
    figures: dict[str, list[Path]] = {}
    curves_path = run_dir / "curves.csv"
    if curves_path.exists():
        curves = read_long_csv(curves_path)
        if not curves.empty:
            figures["curves"] = curve_plots(curves, plots)
    bar_metrics = [m for m in order if m in CURVE_METRICS or metrics_info.get(m, {}).get("auc")]
    if bar_metrics:
        figures["bars"] = auc_bars(summary, plots, bar_metrics)
    if (run_dir / "heatmaps.npz").exists():
        with np.load(run_dir / "heatmaps.npz") as archive:
            figures["heatmaps"] = heatmap_grid({k: archive[k] for k in archive.files}, plots)
    if (run_dir / "training.csv").exists():
        training = pd.read_csv(run_dir / "training.csv")
        if not training.empty:
            figures["training"] = training_plots(training, plots)
    for paths in figures.values():
        written += paths
    written += write_reports(run_dir, summary, tests, figures, metrics_info, _read_json(run_dir / "explainers.json"),
                             _read_json(run_dir / "manifest.json"), auc_note)
    return written
