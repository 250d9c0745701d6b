"""The report's first figure, under "What it says": every explainer of IA-ViT on the run's headline metric
(``protocols.headline_metric``) with its 95% interval, the two controls of the interpreter's own resolution as
reference bands, the interpreter marked. One static figure (PNG + PDF, like the others) with alt text written from
the same numbers.

The interval is the 95% t-interval across training seeds with >= MIN_SEEDS seeds (what another training run would
move), else the bootstrap interval over images (summary.csv); the caption says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...records import MetricRecords
from ...stats import MIN_SEEDS
from ...store import MODEL_LEVEL
from ..protocols import headline_metric
from .figure_io import plt, save_figure
from .palette import OKABE_ITO

BANDS = ("random-patch", "shuffled:ia-vit")  # the interpreter's matched controls
INTERPRETER = "ia-vit"
BAND_COLOURS = ("#999999", "#56B4E9")
MARK = OKABE_ITO[3]  # vermillion: the interpreter


@dataclass(frozen=True)
class Headline:
    """The figure's files (PNG first), its caption and its alt text."""

    paths: list[Path]
    caption: str
    alt: str


def _model(summary: pd.DataFrame) -> str | None:
    """The model shown: the one whose interpreter is explained (IA-ViT), else the first model with explainers."""
    explained = summary[summary.explainer != MODEL_LEVEL]
    with_interpreter = explained[explained.explainer == INTERPRETER].model.unique().tolist()
    models = with_interpreter or sorted(explained.model.unique())
    return ("ia-vit" if "ia-vit" in models else models[0]) if models else None


def _intervals(rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(mean, low, high) per explainer and the interval's name: across seeds when every row has enough seeds."""
    if (rows.n_seeds >= MIN_SEEDS).all():
        out = rows[["explainer", "seed_mean", "seed_ci_low", "seed_ci_high"]]
        return out.set_axis(["explainer", "mean", "low", "high"], axis=1), "95% t-interval across training seeds"
    out = rows[["explainer", "mean", "ci_low", "ci_high"]]
    return out.set_axis(["explainer", "mean", "low", "high"], axis=1), "95% bootstrap interval over images"


def _alt(metric: str, lower: bool, model: str, points: pd.DataFrame, bands: pd.DataFrame) -> str:
    order = ", ".join(f"{r.explainer} {r.mean:.3f}" for r in points.itertuples())
    text = (f"Dot plot of {metric} ({'lower' if lower else 'higher'} is better) for the explainers of {model}, best "
            f"first: {order}.")
    if not bands.empty:
        text += " Reference bands: " + ", ".join(f"{r.explainer} {r.mean:.3f} [{r.low:.3f}, {r.high:.3f}]"
                                                 for r in bands.itertuples()) + "."
    own = points[points.explainer == INTERPRETER]
    if not own.empty:
        place = int((points.explainer == INTERPRETER).to_numpy().argmax()) + 1
        text += f" The interpreter ranks {place} of {len(points)}."
    return text


def headline_figure(summary: pd.DataFrame, metrics_info: MetricRecords, folder: Path) -> Headline | None:
    """The figure, or None when the run has no curve metric or no explainer to show."""
    metric, model = headline_metric(summary, metrics_info), _model(summary)
    if metric is None or model is None:
        return None
    rows = summary[(summary.metric == metric) & (summary.model == model) & (summary.explainer != MODEL_LEVEL)].dropna(
        subset=["mean"])
    if rows.empty:
        return None
    lower = metrics_info.of(metric).lower_is_better
    values, interval = _intervals(rows)
    bands = values[values.explainer.isin(BANDS)].sort_values("explainer")
    points = values[~values.explainer.isin(BANDS)].sort_values("mean", ascending=lower, kind="stable")
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.32 * max(len(points), 3)))
    for colour, band in zip(BAND_COLOURS, bands.itertuples()):
        ax.axvspan(band.low, band.high, color=colour, alpha=0.25, lw=0, label=f"{band.explainer} (control, 95%)")
        ax.axvline(band.mean, color=colour, lw=1.2, ls="--")
    positions = range(len(points))[::-1]  # the best at the top
    for y, point in zip(positions, points.itertuples()):
        own = point.explainer == INTERPRETER
        ax.errorbar(point.mean, y, xerr=[[point.mean - point.low], [point.high - point.mean]], fmt="D" if own else "o",
                    color=MARK if own else "#333333", ms=8 if own else 5, capsize=3, lw=1.5 if own else 1)
    ax.set_yticks(list(positions), [f"{e}  ◀ IA-ViT's interpreter" if e == INTERPRETER else e
                                    for e in points.explainer], fontsize=9)
    for label in ax.get_yticklabels():
        if label.get_text().startswith(INTERPRETER + " "):
            label.set_color(MARK)
            label.set_fontweight("bold")
    ax.set_xlabel(f"{metric}, {'lower' if lower else 'higher'} is better ({interval})", fontsize=9)
    interpreter = bool((points.explainer == INTERPRETER).any())  # no interpreter wording without an IA-ViT
    grid = "the interpreter's resolution" if interpreter else "the patch grid's resolution"
    ax.set_title(f"{model}: every explainer against random maps of {grid}", fontsize=10)
    if not bands.empty:  # below the axis label: inside the axes it would hide points
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / len(points)), ncol=len(bands), fontsize=8,
                  frameon=False)
    ax.grid(axis="x", alpha=0.3)
    paths = save_figure(fig, folder, "headline")
    caption = (f"Each explainer of `{model}` by `{metric}` ({'lower' if lower else 'higher'} is better): mean with "
               f"its {interval}; the shaded bands are the same intervals of "
               f"{'the interpreter' if interpreter else 'the patch grid'}'s matched controls "
               f"({', '.join(bands.explainer) or 'none in this run'}){', the diamond the interpreter' * interpreter}. "
               f"A map {'left' if lower else 'right'} of a band scores better than random maps of its resolution.")
    return Headline(paths, caption, _alt(metric, lower, model, points, bands))
