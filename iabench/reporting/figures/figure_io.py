"""Saving figures: PNG and PDF under plots/, without time stamps (a rebuilt report does not change them)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: reports are built on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 110


def save_figure(fig: Figure, folder: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``folder/name.png`` and ``.pdf``, close it and return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        # no creation date / software stamp: re-building the report does not change the files needlessly
        metadata = {"CreationDate": None, "Producer": None} if ext == "pdf" else {"Software": None}
        fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata=metadata)
        paths.append(path)
    plt.close(fig)
    return paths


def grid_figure(rows: int, cols: int, panel: tuple[float, float], gaps: tuple[float, float],
                margins: tuple[float, float, float, float], **subplots: object) -> tuple[Figure, object]:
    """A rows x cols grid of panels of ``panel`` = (width, height) inches, ``gaps`` = (between columns, between
    rows) and ``margins`` = (left, right, top, bottom) in inches: a fixed layout, as readable as
    matplotlib's constrained layout and many times faster on large grids."""
    (width, height), (wgap, hgap), (left, right, top, bottom) = panel, gaps, margins
    fig_w = left + right + cols * width + (cols - 1) * wgap
    fig_h = top + bottom + rows * height + (rows - 1) * hgap
    fig, axes = plt.subplots(rows, cols, figsize=(fig_w, fig_h), squeeze=False, **subplots)
    fig.subplots_adjust(left=left / fig_w, right=1 - right / fig_w, top=1 - top / fig_h, bottom=bottom / fig_h,
                        wspace=wgap / width, hspace=hgap / height)
    return fig, axes
