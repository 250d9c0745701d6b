"""Two report sections on the protocol behind the faithfulness numbers, written from summary.csv alone.

- Against the control of its own resolution: each explainer's mean minus that of the random control whose maps
  have the same resolution (``random`` for pixel maps, ``random-patch`` for patch maps), on the same model and
  metric, signed so that > 0 = better than the control. Pixel-unit deletion favours pixel-level maps (removing
  scattered pixels corrupts every patch token of a ViT at once), so a patch map compared with pixel noise reads
  worse than it is; the second number of a patch-level row is that biased comparison.
- How much the unit moves each explainer's score: every metric run under both units (the same metric name and
  substrate, pixel and patch), its mean per explainer under each and the explainer's rank within its model.

And the metric the report's opening and its first figure quote (``headline_metric``).
"""

from __future__ import annotations

import pandas as pd

from ..records import ExplainerRecords, MetricRecords
from ..store import MODEL_LEVEL
from .markdown import markdown_table


def protocol(label: str, metrics_info: MetricRecords) -> tuple[str, str, str]:
    """(metric name, substrate, unit) of a curve metric label, from metrics.json."""
    info = metrics_info.of(label)
    return info.name, info.substrate or "zeros", info.unit or "pixel"


def is_curve(label: str, metrics_info: MetricRecords) -> bool:
    """Whether metrics.json records ``label`` as a perturbation curve (insertion, deletion, MoRF, LeRF, ...)."""
    return metrics_info.of(label).curve


def with_protocols(summary: pd.DataFrame, metrics_info: MetricRecords,
                   explainers_info: ExplainerRecords) -> pd.DataFrame:
    """summary.csv's protocol columns: each curve metric's substrate and unit, each explainer's map resolution
    ('' where they do not apply)."""
    curve = {m: protocol(m, metrics_info) for m in metrics_info if is_curve(m, metrics_info)}
    resolution = {e: explainers_info.of(e).resolution for e in set(summary.explainer)
                  if e in explainers_info}  # '' for an explainer the run did not record
    return summary.assign(substrate=summary.metric.map(lambda m: curve[m][1] if m in curve else ""),
                          unit=summary.metric.map(lambda m: curve[m][2] if m in curve else ""),
                          resolution=summary.explainer.map(lambda e: resolution.get(e, "")))


def _curve_labels(summary: pd.DataFrame, metrics_info: MetricRecords) -> list[str]:
    return [m for m in metrics_info if m in set(summary.metric) and is_curve(m, metrics_info)]


def _control_of(explainer: str, explainers_info: ExplainerRecords) -> tuple[str, str]:
    resolution = explainers_info.of(explainer).resolution
    return resolution, "random-patch" if resolution == "patch" else "random"


def control_markdown(summary: pd.DataFrame, metrics_info: MetricRecords, explainers_info: ExplainerRecords) -> str:
    """The section's table (rows: model / explainer; a cell: difference from the matched control, and for patch
    maps from the pixel control in brackets) and one line on how often the pixel control would flip the sign."""
    labels = _curve_labels(summary, metrics_info)
    means = summary.set_index(["model", "explainer", "metric"])["mean"]
    rows, flipped, patch_cells = [], 0, 0
    for model, explainer in sorted(set(zip(summary.model, summary.explainer))):
        if explainer == MODEL_LEVEL or explainers_info.of(explainer).is_control:
            continue
        resolution, control = _control_of(explainer, explainers_info)
        row = {"model": model, "explainer": explainer, "map": resolution, "control": control}
        for label in labels:
            sign = -1.0 if metrics_info.of(label).lower_is_better else 1.0
            own, matched = means.get((model, explainer, label)), means.get((model, control, label))
            if own is None or matched is None or pd.isna(own) or pd.isna(matched):
                row[label] = ""
                continue
            text = f"{sign * (own - matched):+.3f}"
            pixel = means.get((model, "random", label))
            if resolution == "patch" and pixel is not None and pd.notna(pixel):
                text += f" ({sign * (own - pixel):+.3f})"
                patch_cells += 1
                flipped += (own - matched) * (own - pixel) < 0
            row[label] = text
        rows.append(row)
    if not rows or not labels:
        return ""
    head = [f"{label} ({', '.join(protocol(label, metrics_info)[1:])})" for label in labels]
    frame = pd.DataFrame(rows).rename(columns=dict(zip(labels, head))).set_index(["model", "explainer"])
    line = (f"Against pixel noise instead, {flipped} of {patch_cells} patch-level cells change sign."
            if patch_cells else "")
    return "\n\n".join(t for t in (markdown_table(frame), line) if t)


def unit_markdown(summary: pd.DataFrame, metrics_info: MetricRecords, explainers_info: ExplainerRecords) -> str:
    """A table per metric measured under both units: mean and rank (within the model) at each unit; ''
    when no metric of the run has both."""
    labels = _curve_labels(summary, metrics_info)
    by_protocol = {protocol(m, metrics_info): m for m in labels}
    pairs = [(name, substrate) for name, substrate, unit in by_protocol if unit == "pixel"
             and (name, substrate, "patch") in by_protocol]
    parts = []
    for name, substrate in pairs:
        pixel, patch = by_protocol[(name, substrate, "pixel")], by_protocol[(name, substrate, "patch")]
        lower = metrics_info.of(pixel).lower_is_better
        part = summary[summary.metric.isin([pixel, patch]) & (summary.explainer != MODEL_LEVEL)]
        table = part.pivot_table(index=["model", "explainer"], columns="metric", values="mean").dropna()
        if table.empty:
            continue
        ranks = table.groupby(level="model").rank(ascending=lower).astype(int)
        shown = pd.DataFrame({
            "map": [explainers_info.of(e).resolution for _, e in table.index],
            "pixel unit": table[pixel].map(lambda v: f"{v:.3f}"), "patch unit": table[patch].map(lambda v: f"{v:.3f}"),
            "patch - pixel": (table[patch] - table[pixel]).map(lambda v: f"{v:+.3f}"),
            "rank: pixel → patch": [f"{a} → {b}" for a, b in zip(ranks[pixel], ranks[patch])]}, index=table.index)
        moved = (ranks[patch] - ranks[pixel]).groupby(shown["map"].to_numpy()).mean()
        summary_line = "; ".join(f"{kind} maps {-value:+.1f} places on average" for kind, value in moved.items())
        parts.append(f"**{name}, {substrate}** ({pixel} vs {patch}; rank 1 = best within the model; places: + = up "
                     f"the ranking at the patch unit): {summary_line}.\n\n{markdown_table(shown)}")
    return "\n\n".join(parts)


def headline_metric(summary: pd.DataFrame, metrics_info: MetricRecords) -> str | None:
    """The metric the answer quotes: deletion moving patches (fair to patch and pixel maps alike), else the first
    deletion, else the first curve metric of the run."""
    records = metrics_info
    present = [m for m in records if m in set(summary.metric) and records[m].curve]
    for wanted in (lambda r: r.name == "deletion" and r.unit == "patch", lambda r: r.name == "deletion",
                   lambda r: True):
        found = [m for m in present if wanted(records[m])]
        if found:
            return found[0]
    return None
