"""plots/truth.png/pdf: each protocol's Kendall tau against each ground truth (truth.csv's rows), one panel per
model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from ..figures.figure_io import grid_figure, save_figure


def truth_figure(truth: pd.DataFrame, folder: Path) -> list[Path]:
    """plots/truth.png/pdf: each protocol's mean tau against each ground truth with its seed interval, one panel per
    model; unreliable protocols' names in red. [] without rows."""
    if truth.empty:
        return []
    models = sorted(set(truth.model))
    protocols = list(dict.fromkeys(truth.protocol))
    # each panel names its protocols: which are unreliable differs between models
    fig, axes = grid_figure(1, len(models), (3.6, 0.28 * len(protocols) + 0.6), (2.0, 0.3), (2.0, 0.2, 0.5, 1.0))
    markers = dict(zip(dict.fromkeys(truth.truth), itertools.cycle("os^Dvp")))  # any number of truths
    for ax, model in zip(axes[0], models):
        rows = truth[truth.model == model]
        for k, (label, part) in enumerate(rows.groupby("truth", sort=False)):
            y = np.array([protocols.index(p) for p in part.protocol]) + 0.15 * (k - 0.5)
            err = np.vstack([part.tau - part.low, part.high - part.tau]).clip(min=0)
            ax.errorbar(part.tau, y, xerr=np.where(np.isfinite(err), err, 0), fmt=markers[label], ms=4, capsize=2,
                        label=label)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(xlim=(-1.05, 1.05), title=model, xlabel="Kendall τ with the ground truth")
        ax.set_yticks(range(len(protocols)), protocols)
        bad = set(rows[rows.unreliable].protocol)
        for tick in ax.get_yticklabels():
            tick.set_color("#c0392b" if tick.get_text() in bad else "black")
        ax.invert_yaxis()
    axes[0][0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2)
    return save_figure(fig, folder, "truth")
