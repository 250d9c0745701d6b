"""Saliency maps as drawn: each map alone (not over the image), a signed map on a diverging colour map
centred at 0 (s / max|s|, limits [-1, 1]), an unsigned one on a sequential colour map from 0 (s / max s,
limits [0, 1])."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from ...records import ExplainerRecords
from .figure_io import grid_figure, plt, save_figure
from .palette import explainer_family, explainer_signed, family_order, with_labels

SIGNED_CMAP, UNSIGNED_CMAP = "RdBu_r", "viridis"
COLORBAR_LABELS = {True: "signed maps: s / max|s|", False: "unsigned maps: s / max s (negatives as 0)"}
LIMITS = {True: (-1.0, 1.0), False: (0.0, 1.0)}
CELL = 1.25  # inches per panel
COLORBAR_WIDTH = 0.9  # inches per colour bar with its ticks and label


def _normalise(saliency: np.ndarray, signed: bool) -> np.ndarray:
    """One map scaled for display: signed s / max|s| in [-1, 1], unsigned s / max s in [0, 1] with
    negatives clipped to 0. NaN/inf count as 0; an all-zero (or all-NaN) map gives zeros."""
    saliency = np.nan_to_num(np.asarray(saliency, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    if not signed:
        saliency = np.clip(saliency, 0.0, None)
    scale = np.abs(saliency).max() if saliency.size else 0.0
    return saliency / scale if scale > 0 else np.zeros_like(saliency)


def _column_order(labels: list[str], explainers_info: ExplainerRecords) -> list[str]:
    """Labels grouped by family (controls last), alphabetically within a family."""
    families = {label: explainer_family(explainers_info, label) for label in labels}
    rank = {family: i for i, family in enumerate(family_order(set(families.values()), explainers_info))}
    return sorted(labels, key=lambda label: (rank[families[label]], label))


def _bare(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set(linewidth=0.4, color="0.6")


def _colour_bars(fig: plt.Figure, axes: np.ndarray, kinds: list[bool]) -> None:
    """One figure-level colour bar per kind of map shown (signed, unsigned), right of the grid."""
    top, bottom = axes[0, -1].get_position().y1, axes[-1, -1].get_position().y0
    height = min(top - bottom, 3.5 / fig.get_figheight())  # at most 3.5 inches tall
    width = fig.get_figwidth()
    for i, kind in enumerate(kinds):
        left = axes[0, -1].get_position().x1 + (0.3 + COLORBAR_WIDTH * i) / width
        cax = fig.add_axes((left, top - height, 0.14 / width, height))
        bar = fig.colorbar(ScalarMappable(Normalize(*LIMITS[kind]), SIGNED_CMAP if kind else UNSIGNED_CMAP), cax=cax)
        bar.set_label(COLORBAR_LABELS[kind], fontsize=8)
        bar.ax.tick_params(labelsize=7)


def _heatmap_figure(images: np.ndarray, classes: np.ndarray | None, maps: dict[str, np.ndarray], model: str,
                    explainers_info: ExplainerRecords) -> plt.Figure:
    """Rows: images; columns: the image, then each explainer's map alone (``maps``: label -> (N, h, w))."""
    info = with_labels(explainers_info, maps)
    labels = _column_order(list(maps), info)
    signed = {label: explainer_signed(info, label) for label in labels}
    rows, cols = images.shape[0], len(labels) + 1
    kinds = sorted(set(signed.values()), reverse=True)  # signed first
    fig, axes = grid_figure(rows, cols, (CELL, CELL), gaps=(0.08, 0.08),
                            margins=(0.3, 0.3 + COLORBAR_WIDTH * len(kinds), 0.75, 0.1))
    for r in range(rows):
        picture = np.clip(images[r].transpose(1, 2, 0), 0, 1)
        picture = picture[..., 0] if picture.shape[-1] == 1 else picture
        extent = (0, picture.shape[1], picture.shape[0], 0)
        axes[r, 0].imshow(picture, cmap="gray", vmin=0, vmax=1, extent=extent)
        if classes is not None:
            axes[r, 0].set_ylabel(f"class {int(classes[r])}", fontsize=8)
        for c, label in enumerate(labels, start=1):
            low, high = LIMITS[signed[label]]
            axes[r, c].imshow(_normalise(maps[label][r], signed[label]), cmap=SIGNED_CMAP if signed[label]
                              else UNSIGNED_CMAP, vmin=low, vmax=high, extent=extent, interpolation="nearest")
    for c, title in enumerate(["image", *labels]):
        axes[0, c].set_title(textwrap.fill(title, 13, break_on_hyphens=True), fontsize=8)
    for ax in axes.flat:
        _bare(ax)
    _colour_bars(fig, axes, kinds)
    fig.suptitle(f"explanations - {model} (each map scaled per image)", fontsize=10,
                 y=1 - 0.12 / fig.get_figheight())
    return fig


def heatmap_grid(heatmaps: dict[str, np.ndarray], folder: Path,
                 explainers_info: ExplainerRecords | None = None) -> list[Path]:
    """One figure per model, ``heatmaps_<model>.png/.pdf``. Maps at another resolution than the image (a
    patch grid) are stretched over it."""
    if "images" not in heatmaps:
        return []
    images = np.asarray(heatmaps["images"], dtype=float)
    if images.shape[0] == 0:
        return []
    paths = []
    for model in sorted({key.split("__")[0] for key in heatmaps if "__" in key}):
        maps = {key.split("__", 1)[1]: heatmaps[key] for key in heatmaps if key.startswith(f"{model}__")}
        fig = _heatmap_figure(images, heatmaps.get("labels"), maps, model, explainers_info or ExplainerRecords())
        paths += save_figure(fig, folder, f"heatmaps_{model}")
    return paths
