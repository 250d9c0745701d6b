"""Reporting: every table, statistic and figure of a run, rebuilt from its stored files alone.

``build_report(run_dir)`` reads results.csv, metrics.json (required), curves.csv, explainers.json, training.csv,
heatmaps.npz, manifest.json, models.json and test_correctness.npz (optional; see run_files.py), and writes
summary.csv, summary.tex, significance.csv, stability.csv (ranking reliability, see stability.py), verdict.csv and
verdict.md (when the run has a reference IA-ViT, see verdict/), plots/*.png|pdf, and report.md and a
self-contained report.html from the Jinja2 templates in templates/ (see page/; the verdict first). No model is
loaded and nothing is recomputed; the CSV, TeX and Markdown outputs are byte-identical for the same inputs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import VerdictConfig
from ..records import MetricRecords
from . import verdict
from .figures.critical_difference import critical_difference
from .figures.headline import headline_figure
from .figures.plots import auc_bars, curve_plots, heatmap_grid, training_plots
from .ground_truth.contrast import contrast_markdown, recorded_pairing
from .ground_truth.placement import placement_markdown
from .ground_truth.reliance import reliance_markdown, without_ground_truth
from .ground_truth.separation import truth_separation, with_separation
from .ground_truth.truth import ground_truth_rows, protocol_truth
from .ground_truth.truth_figure import truth_figure
from .ground_truth.truth_text import truth_markdown
from .page.bias import baseline_is_substrate
from .page.family_tables import column_title
from .page.opening import answer, run_lines
from .page.render import Findings, sections, write_reports
from .page.tables import summary_tex
from .page.trust import trust_lines, trust_markdown
from .protocols import control_markdown, unit_markdown, with_protocols
from .run_files import RunFiles, read_long_csv
from .stability import stability
from .summary import significance, summarise

__all__ = ["build_report", "read_long_csv"]


def auc_note(metrics_info: MetricRecords, metrics: list[str]) -> str:
    """Which AUC the curve metrics report (metrics.json "auc"): trapezoid area or mean of step scores."""
    kinds = {"trapezoid": "trapezoid AUC", "mean": "mean of step scores"}
    shown = [f"{m} = {kinds.get(auc, auc)}" for m in metrics for auc in [metrics_info.of(m).auc] if auc]
    return f"Curve metrics: {', '.join(shown)}." if shown else ""


def build_report(run_dir: Path) -> list[Path]:
    """Write every output of the run in ``run_dir`` from its stored files; returns the written paths."""
    run = RunFiles.read(Path(run_dir))
    excluded = without_ground_truth(run.reliance)  # None: no planted evidence
    scored = ground_truth_rows(run.results, run.metrics, excluded)
    summary, note, written = _summary(run, scored)
    tests = significance(scored, run.directions)
    written.append(run.write_csv(tests, "significance.csv"))
    ranking = stability(run.results, run.metrics)
    if not ranking.empty:
        written.append(run.write_csv(ranking, "stability.csv"))
    cd_paths, cd_table = critical_difference(run.results, run.metrics, run.path, run.explainers)
    if cd_paths:
        written += [run.write_csv(cd_table, "critical_difference.csv"), *cd_paths]
    trust_md = trust_markdown(trust_lines(ranking, run.metrics), ranking, cd_paths, run.path)
    settings = run.verdict_settings
    truth, separated, truth_files = _truth(run, excluded, settings)
    written += truth_files
    claims, verdict_md, verdict_files = _verdict(run, excluded, settings)
    figures = _figures(run, summary)
    if not truth.empty:
        figures["truth"] = truth_figure(truth, run.path / "plots")
    written += verdict_files + [p for paths in figures.values() for p in paths]
    protocol_md = {"controls": control_markdown(summary, run.metrics, run.explainers),
                   "units": unit_markdown(summary, run.metrics, run.explainers),
                   "reliance": reliance_markdown(run.reliance),
                   "truth": truth_markdown(truth, settings.delta, settings.alpha, separated),
                   "contrast": "" if run.contrast is None else contrast_markdown(run.contrast, recorded_pairing(run)),
                   "placement": "" if run.placement is None else placement_markdown(run.placement)}
    page = sections(run, Findings(summary, tests, figures, note, verdict_md, trust_md, protocol_md))
    headline = headline_figure(summary, run.metrics, run.path / "plots")
    written += headline.paths if headline else []
    written += write_reports(run, page, run_lines(run), answer(summary, run, claims), headline)
    return written


def _truth(run: RunFiles, excluded: set[tuple[str, int]] | None,
           settings: VerdictConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """truth.csv (protocols against the ground truth, agreeing only where the truth separates) and separation.csv
    (whether each ground truth separates the explainers), for a run on planted evidence."""
    truth = protocol_truth(run.results, run.metrics, run.explainers, excluded, settings.delta, alpha=settings.alpha)
    separated = (truth_separation(run.results, run.metrics, run.explainers, excluded, settings.alpha)
                 if excluded is not None else pd.DataFrame())
    written = [run.write_csv(separated, "separation.csv")] if not separated.empty else []
    if not truth.empty:
        truth = with_separation(truth, separated)
        written.append(run.write_csv(truth, "truth.csv"))
    return truth, separated, written


def _summary(run: RunFiles, results: pd.DataFrame) -> tuple[pd.DataFrame, str, list[Path]]:
    """summary.csv (with the protocol columns and the own-baseline marks) and summary.tex, of ``results`` (the run's,
    without the ground-truth scores of models that have none)."""
    summary = summarise(results, run.directions)
    summary["baseline_is_substrate"] = baseline_is_substrate(summary, run.explainers, run.metrics)
    summary = with_protocols(summary, run.metrics, run.explainers)
    note = auc_note(run.metrics, run.order)
    tex = summary_tex(summary, run.order, note, {m: column_title(m, run.metrics) for m in run.order})
    (run.path / "summary.tex").write_text(tex)
    return summary, note, [run.write_csv(summary, "summary.csv"), run.path / "summary.tex"]


def _verdict(run: RunFiles, excluded: set[tuple[str, int]] | None,
             settings: VerdictConfig) -> tuple[pd.DataFrame | None, str, list[Path]]:
    """verdict.csv and verdict.md, for a run with a reference IA-ViT (the claims are about it: none, no verdict);
    ``excluded``: the models without ground truth on planted evidence (None: no planted evidence, no claims vi/vii)."""
    if not verdict.variants(run.models, set(run.results.model))[0]:
        return None, "", []
    evidence = None if excluded is None else verdict.PlantedEvidence(excluded, run.contrast, recorded_pairing(run))
    claims = verdict.verdict(run.results, run.records, settings, run.correctness, evidence)
    verdict_md = verdict.verdict_markdown(claims, run.models, settings)
    (run.path / "verdict.md").write_text(f"# Verdict: {run.suite}\n\n{verdict_md}")
    return claims, verdict_md, [run.write_csv(claims, "verdict.csv"), run.path / "verdict.md"]


def _figures(run: RunFiles, summary: pd.DataFrame) -> dict[str, list[Path]]:
    """The figures, each only when its input exists and holds something to draw."""
    plots, figures = run.path / "plots", {}
    if run.curves is not None and not run.curves.empty:
        figures["curves"] = curve_plots(run.curves, plots, run.explainers, run.metrics)
    bar_metrics = [m for m in run.order if run.metrics[m].curve or run.metrics[m].auc]
    if bar_metrics:
        figures["bars"] = auc_bars(summary, plots, bar_metrics)
    if run.heatmaps:
        figures["heatmaps"] = heatmap_grid(run.heatmaps, plots, run.explainers)
    if run.training is not None and not run.training.empty and "model" in run.training:
        figures["training"] = training_plots(run.training, plots)
    return {kind: paths for kind, paths in figures.items() if paths}
