"""Figures (seaborn/matplotlib, Agg backend), each saved as PNG and PDF under plots/."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

CURVE_METRICS = ("insertion", "deletion", "morf", "lerf")


def _save(fig: plt.Figure, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        # fixed metadata so that re-running the report does not change the files needlessly
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def curve_plots(curves: pd.DataFrame, folder: Path) -> list[Path]:
    """Mean curve per explainer with a 95% confidence band (seaborn, bootstrap with a fixed seed), one
    panel per model, one figure per curve metric."""
    paths = []
    for metric in [m for m in sorted(curves.metric.unique())]:
        data = curves[curves.metric == metric]
        models = sorted(data.model.unique())
        fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False, sharey=True)
        for ax, model in zip(axes[0], models):
            sns.lineplot(data=data[data.model == model], x="x", y="value", hue="explainer", errorbar=("ci", 95),
                         n_boot=200, seed=0, ax=ax)
            ax.set(title=f"{metric} - {model}", xlabel="fraction of pixels/patches moved", ylabel="target score")
            ax.legend(fontsize=7, loc="best")
        paths += _save(fig, folder, f"curves_{metric}")
    return paths


def auc_bars(summary: pd.DataFrame, folder: Path, metrics: list[str]) -> list[Path]:
    """A bar chart of the mean per (model, explainer) with its 95% CI, one panel per metric."""
    data = summary[summary.metric.isin(metrics) & (summary.explainer != "-")]
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
            ax.barh(positions, rows["mean"], height=width, xerr=errors, label=model, capsize=2)
        ax.set_yticks(np.arange(len(labels)) + width * (len(models) - 1) / 2, labels, fontsize=7)
        arrow = "lower is better" if part.direction.iloc[0] == "lower" else "higher is better"
        ax.set(title=f"{metric} ({arrow})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, folder, "auc_bars")


def heatmap_grid(heatmaps: dict[str, np.ndarray], folder: Path) -> list[Path]:
    """Rows: images; columns: explainers; each map min-max normalised and overlaid on its image."""
    images = heatmaps["images"]
    paths = []
    for model in sorted({key.split("__")[0] for key in heatmaps if "__" in key}):
        keys = sorted(k for k in heatmaps if k.startswith(f"{model}__"))
        rows, cols = images.shape[0], len(keys) + 1
        fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows), squeeze=False)
        for r in range(rows):
            picture = images[r].transpose(1, 2, 0)
            picture = picture[..., 0] if picture.shape[-1] == 1 else picture
            axes[r, 0].imshow(picture, cmap="gray")
            for c, key in enumerate(keys, start=1):
                saliency = heatmaps[key][r]
                span = saliency.max() - saliency.min()
                shown = (saliency - saliency.min()) / span if span > 0 else np.zeros_like(saliency)
                axes[r, c].imshow(picture, cmap="gray")
                axes[r, c].imshow(shown, cmap="jet", alpha=0.5)
                if r == 0:
                    axes[r, c].set_title(key.split("__", 1)[1], fontsize=6)
        axes[0, 0].set_title("image", fontsize=6)
        for ax in axes.flat:
            ax.axis("off")
        fig.suptitle(f"explanations - {model}", fontsize=8)
        paths += _save(fig, folder, f"heatmaps_{model}")
    return paths


def training_plots(training: pd.DataFrame, folder: Path) -> list[Path]:
    """Each loss term and the validation accuracies per epoch, per model."""
    losses = [c for c in ("loss", "ce", "kd", "align") if c in training and training[c].notna().any()]
    accs = [c for c in ("val_acc", "val_inter_acc", "val_agreement") if c in training and training[c].notna().any()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for model, part in training.groupby("model"):
        for column in losses:
            axes[0].plot(part.epoch, part[column], marker="o", label=f"{model} {column}")
        for column in accs:
            axes[1].plot(part.epoch, part[column], marker="o", label=f"{model} {column}")
    axes[0].set(title="training loss terms", xlabel="epoch")
    axes[1].set(title="validation accuracy / agreement", xlabel="epoch")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, folder, "training")
