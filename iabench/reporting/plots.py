"""Figures (seaborn/matplotlib, Agg backend), each saved as PNG and PDF under plots/.

Every function takes stored tables/arrays only and returns the paths it wrote (empty when its input
holds nothing to draw).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: reports are built on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

CURVE_METRICS = ("insertion", "deletion", "morf", "lerf")
CURVE_AXES = {
    "insertion": ("fraction of pixels inserted", "target-class probability"),
    "deletion": ("fraction of pixels removed", "target-class probability"),
    "morf": ("fraction of patches removed (most relevant first)", "target score"),
    "lerf": ("fraction of patches removed (least relevant first)", "target score"),
}
# Curve bands: mean +- 1.96 standard errors (a normal 95 % interval). seaborn's bootstrap band took over
# a minute for a 28-model study's few hundred curves; with 8 or more curves per point the two agree closely.
CURVE_BAND = ("se", 1.96)


def _save(fig: plt.Figure, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        # no creation date / software stamp: re-building the report does not change the files needlessly
        metadata = {"CreationDate": None, "Producer": None} if ext == "pdf" else {"Software": None}
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata=metadata)
        paths.append(path)
    plt.close(fig)
    return paths


def curve_plots(curves: pd.DataFrame, folder: Path) -> list[Path]:
    """Mean curve per explainer with a 95% confidence band (mean +- 1.96 standard errors over samples and
    seeds at each x), one panel per model, one figure per curve metric."""
    paths = []
    for metric in sorted(curves.metric.unique()):
        data = curves[curves.metric == metric]
        models = sorted(data.model.unique())
        hue_order = sorted(data.explainer.unique())  # same colour per explainer in every panel
        fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False, sharey=True)
        xlabel, ylabel = CURVE_AXES.get(metric, ("fraction moved", "score"))
        for ax, model in zip(axes[0], models):
            sns.lineplot(data=data[data.model == model], x="x", y="value", hue="explainer", hue_order=hue_order,
                         errorbar=CURVE_BAND, ax=ax)
            ax.set(title=f"{metric} - {model}", xlabel=xlabel, ylabel=ylabel)
            ax.legend(fontsize=7, loc="best")
        paths += _save(fig, folder, f"curves_{metric}")
    return paths


def auc_bars(summary: pd.DataFrame, folder: Path, metrics: list[str]) -> list[Path]:
    """Horizontal bars of the mean per (model, explainer) with its 95% bootstrap CI (from summary.csv),
    one panel per metric."""
    data = summary[summary.metric.isin(metrics) & (summary.explainer != "-") & summary["mean"].notna()]
    if data.empty:
        return []
    metrics = [m for m in metrics if m in set(data.metric)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 4.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = data[data.metric == metric].sort_values(["explainer", "model"])
        labels = part.explainer.unique().tolist()
        models = sorted(part.model.unique())
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            rows = part[part.model == model].set_index("explainer").reindex(labels)
            positions = np.arange(len(labels)) + i * width
            errors = np.vstack([rows["mean"] - rows.ci_low, rows.ci_high - rows["mean"]])
            ax.barh(positions, rows["mean"], height=width, xerr=np.nan_to_num(errors), label=model, capsize=2)
        ax.set_yticks(np.arange(len(labels)) + width * (len(models) - 1) / 2, labels, fontsize=7)
        arrow = "lower is better" if part.direction.iloc[0] == "lower" else "higher is better"
        ax.set(title=f"{metric} ({arrow})", xlabel="mean (95% CI)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, folder, "auc_bars")


def _normalise(saliency: np.ndarray) -> np.ndarray:
    """Min-max scale one map to [0, 1] for display (maps come in any scale); constant or all-NaN -> zeros."""
    saliency = np.nan_to_num(np.asarray(saliency, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    span = saliency.max() - saliency.min()
    return (saliency - saliency.min()) / span if span > 0 else np.zeros_like(saliency)


def heatmap_grid(heatmaps: dict[str, np.ndarray], folder: Path) -> list[Path]:
    """One figure per model. Rows: images; columns: the image, then each explainer's map (min-max scaled)
    overlaid on it. Maps at another resolution than the image (a patch grid) are stretched over it."""
    if "images" not in heatmaps:
        return []
    images = np.asarray(heatmaps["images"], dtype=float)
    labels = heatmaps.get("labels")
    paths = []
    for model in sorted({key.split("__")[0] for key in heatmaps if "__" in key}):
        keys = sorted(k for k in heatmaps if k.startswith(f"{model}__"))
        rows, cols = images.shape[0], len(keys) + 1
        if rows == 0:
            continue
        fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows), squeeze=False)
        for r in range(rows):
            picture = np.clip(images[r].transpose(1, 2, 0), 0, 1)
            picture = picture[..., 0] if picture.shape[-1] == 1 else picture
            extent = (0, picture.shape[1], picture.shape[0], 0)
            axes[r, 0].imshow(picture, cmap="gray", vmin=0, vmax=1, extent=extent)
            if labels is not None:
                axes[r, 0].text(0, 0, f"y={int(labels[r])}", fontsize=5, color="yellow", va="top")
            for c, key in enumerate(keys, start=1):
                axes[r, c].imshow(picture, cmap="gray", vmin=0, vmax=1, extent=extent)
                axes[r, c].imshow(_normalise(heatmaps[key][r]), cmap="jet", alpha=0.5, vmin=0, vmax=1,
                                  extent=extent, interpolation="nearest")
                if r == 0:
                    axes[r, c].set_title(key.split("__", 1)[1], fontsize=6)
        axes[0, 0].set_title("image", fontsize=6)
        for ax in axes.flat:
            ax.axis("off")
        fig.suptitle(f"explanations - {model}", fontsize=8)
        paths += _save(fig, folder, f"heatmaps_{model}")
    return paths


def training_plots(training: pd.DataFrame, folder: Path) -> list[Path]:
    """One row per model: each loss term (left) and the validation accuracies / agreement (right) per
    epoch, averaged over seeds (band: the range over seeds when there are several, the honest summary of
    2-3 values)."""
    losses = [c for c in ("loss", "ce", "kd", "align") if c in training and training[c].notna().any()]
    accs = [c for c in ("val_acc", "val_inter_acc", "val_agreement") if c in training and training[c].notna().any()]
    if "epoch" not in training or not (losses or accs):
        return []
    models = sorted(training.model.unique())
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 3.4 * len(models)), squeeze=False)
    for row, model in zip(axes, models):
        part = training[training.model == model]
        for ax, columns, title in ((row[0], losses, "training loss terms"),
                                   (row[1], accs, "validation accuracy / agreement")):
            long = part.melt(id_vars=["epoch"], value_vars=columns, var_name="term").dropna(subset=["value"])
            if long.empty:
                ax.set_axis_off()
                continue
            sns.lineplot(data=long, x="epoch", y="value", hue="term", marker="o", errorbar=("pi", 100), ax=ax)
            ax.set(title=f"{title} - {model}", xlabel="epoch", ylabel="")
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, folder, "training")
