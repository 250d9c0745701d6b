"""The report's first lines: what was run (models and their accuracies, images, target, protocols) and what it says
(3-5 sentences written from summary.csv and the verdict), before any table. Everything is read from the run's files.
"""

from __future__ import annotations

import pandas as pd

from ...records import MetricRecords
from ..protocols import headline_metric
from ..run_files import RunFiles
from ..verdict.text import overall


def _percent(values: list[float]) -> str:
    """'85.6 %' for one seed, '85.0 ± 0.2 %' (standard deviation) over several."""
    series = pd.Series(values, dtype=float) * 100
    return f"{series.mean():.1f} %" if len(series) < 2 else f"{series.mean():.1f} ± {series.std():.1f} %"


def model_lines(models_info: dict) -> list[str]:
    """One line per model: kind, grid, description (e.g. a given model's family), test accuracy (and the
    interpreter's accuracy and agreement)."""
    lines = []
    for name, info in models_info.items():
        seeds = list((info.get("seeds") or {}).values())
        accuracy = [s["test_acc"] for s in seeds if "test_acc" in s]
        kind, grid = info.get("kind"), info.get("grid", "?")
        text = (f"`{name}` (a CNN or Swin, read through its last feature map: a {grid} grid, output stride "
                f"{info.get('patch', '?')}" if kind == "feature-map" else
                f"`{name}` ({'IA-ViT' if kind == 'ia-vit' else 'plain ViT'}, {grid} patch grid")
        text += f", {len(seeds)} training seeds" if len(seeds) > 1 else ""
        # e.g. the family and checkpoint of a model the user brought
        text += f"; {info['description']})" if info.get("description") else ")"
        if accuracy:
            images = seeds[0].get("test_images")
            text += f": test accuracy {_percent(accuracy)}" + (f" on {int(images):,} images" if images else "")
        inter = [s["test_inter_acc"] for s in seeds if "test_inter_acc" in s]
        agree = [s["test_agreement"] for s in seeds if "test_agreement" in s]
        if inter and agree:
            text += f"; its interpreter {_percent(inter)}, agreeing with its predictor on {_percent(agree)}"
        lines.append(text)
    return lines


def protocol_line(metrics_info: MetricRecords) -> str:
    """The curve metrics grouped by substrate and unit: 'insertion, deletion (zeros substrate, moving pixels); ...'."""
    groups: dict[tuple[str, str], list[str]] = {}
    for info in metrics_info.values():
        if info.curve:
            names = groups.setdefault((info.substrate or "zeros", info.unit or "pixel"), [])
            if info.name not in names:
                names.append(info.name)
    return "; ".join(f"{', '.join(names)} ({substrate} substrate, moving {'patches' if unit == 'patch' else 'pixels'})"
                     for (substrate, unit), names in groups.items())


def run_lines(run: RunFiles) -> list[str]:
    """What was run, as markdown lines."""
    manifest, metrics_info, explainers_info = run.manifest, run.metrics, run.explainers
    config = manifest.get("config") or {}
    dataset = (manifest.get("dataset") or {}).get("name") or (config.get("data") or {}).get("name", "?")
    target = {"label": "its true label (the paper's protocol)", "predicted": "the class each model predicts"}
    controls = sum(1 for info in explainers_info.values() if info.is_control)
    lines = [f"Model {line}" for line in model_lines(run.models)]
    lines.append(f"Images: {manifest.get('samples', '?')} from the {config.get('split', 'test')} split of {dataset}, "
                 f"each explained for {target.get(config.get('target', 'label'), config.get('target'))}; "
                 f"{len(explainers_info)} explainers ({controls} of them controls)")
    protocols = protocol_line(metrics_info)
    if protocols:
        lines.append(f"Protocols: {protocols}")
    return lines



def accuracy_sentence(models_info: dict, claims: pd.DataFrame | None) -> str:
    """IA-ViT's accuracy against its plain ViT: the number of the verdict's claim (iii) where it decided one (so that
    the opening and the verdict quote the same figure), else the difference of the models' mean test accuracies."""
    accuracy = {name: pd.Series([s.get("test_acc") for s in (info.get("seeds") or {}).values()], dtype=float).mean()
                for name, info in models_info.items()}
    pair = next(((n, i.get("baseline")) for n, i in models_info.items() if i.get("kind") == "ia-vit"
                 and i.get("baseline") in accuracy), None)
    if not pair:
        return ""
    third = claims[(claims.claim == "iii") & (claims.model == pair[0]) & (claims.unit != "")] if (
        claims is not None and not claims.empty) else pd.DataFrame()
    if not third.empty:
        row = third.iloc[0]
        gap, basis = row.effect * 100, row.comparison.split(": ", 1)[-1]
        basis = f"mean of the per-seed differences over {row.n} seeds" if row.unit == "seed" else basis
        return (f"`{pair[0]}` is {abs(gap):.2f} points {'less' if gap < 0 else 'more'} accurate than its plain ViT "
                f"`{pair[1]}` ({basis}; claim (iii) of the verdict).")
    if pd.isna(accuracy[pair[0]]) or pd.isna(accuracy[pair[1]]):
        return ""
    gap = (accuracy[pair[0]] - accuracy[pair[1]]) * 100
    return (f"`{pair[0]}` is {abs(gap):.1f} points {'less' if gap < 0 else 'more'} accurate than its plain ViT "
            f"`{pair[1]}` on the test images above.")


def answer(summary: pd.DataFrame, run: RunFiles, claims: pd.DataFrame | None) -> str:
    """3-5 sentences: the interpreter against its own-resolution control and the best maps under the headline
    metric, the accuracy cost, the verdict's statuses, and how far one run's numbers go."""
    metrics_info, explainers_info, models_info = run.metrics, run.explainers, run.models
    metric = headline_metric(summary, metrics_info)
    sentences = []
    if metric is not None:
        scores = summary[summary.metric == metric].set_index(["model", "explainer"])["mean"]
        record = metrics_info.of(metric)
        lower = record.lower_is_better
        shown = f"`{metric}` ({'lower' if lower else 'higher'} is better)"
        if ("ia-vit", "ia-vit") in scores.index:
            control = explainers_info.of("ia-vit").control if "ia-vit" in explainers_info else (
                "random-patch")
            own, base = scores[("ia-vit", "ia-vit")], scores.get(("ia-vit", control))
            if base is not None:
                better = (own < base) if lower else (own > base)
                sentences.append(f"By {shown}, IA-ViT's interpreter scores {own:.3f} against {base:.3f} for "
                                 f"`{control}`, random maps of its own resolution: "
                                 f"{'better' if better else 'not better'} by this mean.")
        best = []
        for model in dict.fromkeys(scores.index.get_level_values(0)):
            own = scores[model].drop([e for e in scores[model].index if explainers_info.of(e).is_control],
                                     errors="ignore")
            if not own.empty:
                top = own.idxmin() if lower else own.idxmax()
                favoured = explainers_info.of(top).baseline == record.substrate
                best.append(f"`{top}` on `{model}` ({own[top]:.3f}" + (
                    ", favoured: its own baseline is this metric's substrate)" if favoured else ")"))
        if best:
            sentences.append(f"The most faithful maps by this metric: {', '.join(best)}.")
    accuracy = accuracy_sentence(models_info, claims)
    if accuracy:
        sentences.append(accuracy)
    if claims is not None and not claims.empty:
        statuses = [f"({claim}) {overall(rows.status) if (rows.unit != '').any() else 'not checked'}"
                    for claim, rows in claims.groupby("claim", sort=False) if claim != "iv"]
        sentences.append(f"The verdict on the paper's claims: {', '.join(statuses)} (next section).")
    seeds = max((len(info.get("seeds") or {}) for info in models_info.values()), default=1)
    if seeds < 3:
        sentences.append("With fewer than 3 training seeds these intervals count images only, not training runs; the "
                         "`ia-vit-study` suite repeats the comparison over 10 seeds.")
    return " ".join(sentences)
