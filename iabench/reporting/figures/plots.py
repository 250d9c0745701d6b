"""Figures (matplotlib, Agg backend), each saved as PNG and PDF under plots/.

Every function takes stored tables/arrays only and returns the paths it wrote (empty when its input
holds nothing to draw). Curves are in curves.py, saliency maps in heatmaps.py, the per-explainer colours
and line styles (the same in every figure of a run) in palette.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ...store import MODEL_LEVEL
from .curves import CURVE_BAND, curve_plots
from .figure_io import plt, save_figure
from .heatmaps import heatmap_grid
from .palette import OKABE_ITO

__all__ = ["CURVE_BAND", "auc_bars", "curve_plots", "heatmap_grid", "training_plots"]

LOSS_TERMS = ("loss", "ce", "kd", "align")
SCORE_TERMS = ("val_acc", "val_inter_acc", "val_agreement")
# (colour, marker) of each training series, the same for every model; hollow markers of different shapes
# keep coinciding points visible (a plain ViT's loss equals its ce)
TERM_STYLES = {"loss": ("#000000", "o"), "ce": ("#0072B2", "s"), "kd": ("#E69F00", "^"), "align": ("#009E73", "D"),
               "val_acc": ("#0072B2", "o"), "val_inter_acc": ("#D55E00", "s"), "val_agreement": ("#CC79A7", "^")}


def auc_bars(summary: pd.DataFrame, folder: Path, metrics: list[str]) -> list[Path]:
    """Horizontal bars of the mean per (model, explainer) with its 95% bootstrap CI (from summary.csv),
    one panel per metric."""
    data = summary[summary.metric.isin(metrics) & (summary.explainer != MODEL_LEVEL) & summary["mean"].notna()]
    if data.empty:
        return []
    metrics = [m for m in metrics if m in set(data.metric)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 4.5), squeeze=False)
    colours = {model: OKABE_ITO[i % len(OKABE_ITO)] for i, model in enumerate(sorted(data.model.unique()))}
    for ax, metric in zip(axes[0], metrics):
        part = data[data.metric == metric].sort_values(["explainer", "model"])
        labels = part.explainer.unique().tolist()
        models = sorted(part.model.unique())
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            rows = part[part.model == model].set_index("explainer").reindex(labels)
            positions = np.arange(len(labels)) + i * width
            errors = np.vstack([rows["mean"] - rows.ci_low, rows.ci_high - rows["mean"]])
            ax.barh(positions, rows["mean"], height=width, xerr=np.nan_to_num(errors), label=model, capsize=2,
                    color=colours[model])
        ax.set_yticks(np.arange(len(labels)) + width * (len(models) - 1) / 2, labels, fontsize=8)
        arrow = "lower is better" if part.direction.iloc[0] == "lower" else "higher is better"
        ax.set(title=f"{metric} ({arrow})", xlabel="mean (95% CI)")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    shown = {name: handle for ax in axes[0] for handle, name in zip(*ax.get_legend_handles_labels())}
    # one legend for all panels, above them: a legend inside a panel hid its bars
    fig.legend(shown.values(), shown.keys(), loc="upper center", ncol=len(shown), fontsize=9, frameon=False,
               title="model", title_fontsize=9, bbox_to_anchor=(0.5, 1.0))
    return save_figure(fig, folder, "auc_bars")


def _draw_term(ax: plt.Axes, part: pd.DataFrame, term: str) -> None:
    """Mean over seeds per epoch; band: the range over seeds where there are several."""
    grouped = part.dropna(subset=[term]).groupby("epoch")[term]
    stats = pd.DataFrame({"mean": grouped.mean(), "low": grouped.min(), "high": grouped.max(), "n": grouped.count()})
    color, marker = TERM_STYLES.get(term, ("0.4", "o"))
    ax.plot(stats.index, stats["mean"], label=term, color=color, marker=marker, markerfacecolor="none",
            markersize=7, linewidth=1.5)
    if (stats.n > 1).any():
        ax.fill_between(stats.index, stats.low, stats.high, color=color, alpha=0.2, linewidth=0)


def _epoch_axis(ax: plt.Axes, epochs: pd.Series) -> None:
    """Whole epochs only: each epoch ticked when there are few, else integer ticks."""
    epochs = sorted(pd.to_numeric(epochs, errors="coerce").dropna().unique())
    if epochs and len(epochs) <= 12:
        ax.set_xticks(epochs)
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _training_figure(training: pd.DataFrame) -> plt.Figure | None:
    """Row per model: its loss terms (left) and validation scores (right), only the series it has."""
    if "epoch" not in training or "model" not in training:
        return None
    models = sorted(training.model.unique())
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 3.2 * len(models)), squeeze=False, layout="constrained")
    drawn = False
    for row, model in zip(axes, models):
        part = training[training.model == model]
        for ax, terms, title in ((row[0], LOSS_TERMS, "training loss terms"),
                                 (row[1], SCORE_TERMS, "validation accuracy / agreement")):
            present = [t for t in terms if t in part and part[t].notna().any()]
            for term in present:
                _draw_term(ax, part, term)
            ax.set_title(f"{title} - {model}", fontsize=10)
            ax.set_xlabel("epoch", fontsize=9)
            _epoch_axis(ax, training.epoch)
            ax.grid(alpha=0.3, linewidth=0.5)
            if present:
                ax.legend(fontsize=8, loc="best")
            else:
                ax.text(0.5, 0.5, f"no {title} recorded", transform=ax.transAxes, ha="center", color="0.35")
            drawn = drawn or bool(present)
    if not drawn:
        plt.close(fig)
        return None
    return fig


def training_plots(training: pd.DataFrame, folder: Path) -> list[Path]:
    """``training.png/.pdf``: one row per model, each loss term (left) and the validation accuracies /
    agreement (right) per epoch that the model records, averaged over seeds (band: the range over seeds
    when there are several, the honest summary of 2-3 values)."""
    fig = _training_figure(training)
    return [] if fig is None else save_figure(fig, folder, "training")
