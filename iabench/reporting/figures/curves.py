"""Perturbation curves (insertion, deletion, MoRF, LeRF) as small multiples: one row per model, one column
per explainer family, each panel with that family's explainers and the controls (dashed) for reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...records import ExplainerRecords, MetricRecords
from .figure_io import grid_figure, plt, save_figure
from .palette import CONTROL, explainer_family, explainer_styles, family_order, with_labels

# Curve bands: mean +- 1.96 standard errors (a normal 95 % interval). seaborn's bootstrap band took over
# a minute for a 28-model study's few hundred curves; with 8 or more curves per point the two agree closely.
CURVE_BAND = ("se", 1.96)
PANEL = (3.6, 2.6)  # inches per panel


def curve_band(values: pd.DataFrame) -> pd.DataFrame:
    """Per x: the mean value and its band, mean +- 1.96 standard errors over samples and seeds (NaN for
    a single curve)."""
    grouped = values.groupby("x")["value"]
    stats = pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()})
    half = CURVE_BAND[1] * stats.sd / np.sqrt(stats.n)
    return pd.DataFrame({"x": stats.index.to_numpy(), "mean": stats["mean"].to_numpy(),
                         "low": (stats["mean"] - half).to_numpy(), "high": (stats["mean"] + half).to_numpy()})


def _draw(ax: plt.Axes, values: pd.DataFrame, label: str, style: dict, control: bool) -> None:
    band = curve_band(values)
    ax.plot(band.x, band["mean"], label=label, color=style["color"], linestyle=style["linestyle"],
            linewidth=1.4 if control else 1.8)
    if np.isfinite(band.low).any():
        ax.fill_between(band.x, band.low, band.high, color=style["color"], alpha=0.06 if control else 0.15,
                        linewidth=0)


def _columns(families: dict[str, str], explainers_info: ExplainerRecords) -> list[str]:
    """The families shown as columns: every non-control family present (controls alone: one column)."""
    return family_order({f for f in families.values() if f != CONTROL}, explainers_info) or [CONTROL]


def _curve_figure(data: pd.DataFrame, metric: str, explainers_info: ExplainerRecords,
                  metrics_info: MetricRecords) -> plt.Figure:
    """The figure of one curve metric (``data``: the rows of curves.csv for it)."""
    labels = sorted(data.explainer.unique())
    info = with_labels(explainers_info, labels)
    styles = explainer_styles(info)
    families = {label: explainer_family(info, label) for label in labels}
    controls = [label for label in labels if families[label] == CONTROL]
    columns, models = _columns(families, info), sorted(data.model.unique())
    xlabel, ylabel = metrics_info.of(metric).curve_axes or ("fraction moved", "score")
    legend_rows = max(sum(f == family for f in families.values()) for family in columns) + len(controls)
    fig, axes = grid_figure(len(models), len(columns), PANEL, gaps=(0.2, 0.45),
                            margins=(0.75, 0.2, 0.6, 0.75 + 0.2 * legend_rows), sharex=True, sharey=True)
    for r, model in enumerate(models):
        part = data[data.model == model]
        present = set(part.explainer)
        for c, family in enumerate(columns):
            ax = axes[r, c]
            own = [label for label in labels if families[label] == family and label in present]
            for label in own + [label for label in controls if label in present and label not in own]:
                _draw(ax, part[part.explainer == label], label, styles[label], control=label in controls)
            if not own:
                ax.text(0.97, 0.95, f"no {family} explainer ran on {model}", transform=ax.transAxes, ha="right",
                        va="top", fontsize=8, color="0.3", bbox=dict(facecolor="white", edgecolor="0.8"))
            ax.set_title(f"{model}: {family}", fontsize=10)
            ax.set_xlabel(xlabel if r == len(models) - 1 else "", fontsize=9)
            ax.set_ylabel(ylabel if c == 0 else "", fontsize=9)
            ax.grid(alpha=0.3, linewidth=0.5)
    for c in range(len(columns)):  # one legend per column, under its bottom panel: every label of the column
        handles: dict = {}
        for ax in axes[:, c]:
            handles.update({line.get_label(): line for line in ax.lines if line.get_label() not in handles})
        if handles:
            axes[-1, c].legend(handles.values(), handles.keys(), loc="upper center", fontsize=8.5, frameon=False,
                               bbox_to_anchor=(0.5, -0.55 / PANEL[1]), handlelength=3)
    # placed in inches from the top: a fraction of the height would collide with the panel titles of a tall figure
    fig.suptitle(f"{metric}: mean curve with 95% band (controls dashed)", fontsize=11, va="top",
                 y=1 - 0.1 / fig.get_figheight())
    return fig


def curve_plots(curves: pd.DataFrame, folder: Path, explainers_info: ExplainerRecords | None = None,
                metrics_info: MetricRecords | None = None) -> list[Path]:
    """One figure per curve metric, ``curves_<metric>.png/.pdf``: a row per model, a column per explainer
    family (the controls in every panel), mean curve per explainer with its 95% band (mean +- 1.96 standard
    errors over samples and seeds at each x); the axes as metrics.json names them."""
    paths = []
    for metric in sorted(curves.metric.unique()):
        fig = _curve_figure(curves[curves.metric == metric], metric, explainers_info or ExplainerRecords(),
                             metrics_info or MetricRecords())
        paths += save_figure(fig, folder, f"curves_{metric}")
    return paths
