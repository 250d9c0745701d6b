"""What the evidence's placement changes: each explainer's ground-truth scores on canvases whose motifs lie inside one
patch (``placement: cell``, aligned: a patch map then has the evidence's exact footprint at its own resolution) and on
canvases whose motifs straddle up to 4 patches (``placement: anywhere``), from two runs of one task, as
placement.csv in the straddling run.

Rows of kind ``explainer``: per model, explainer and ground-truth score (evidence AUC and mass, per pixel and per
patch), the mean over the seeds both runs share of each seed's mean over its images, aligned and straddling, and
``change`` = straddling - aligned. Rows of kind ``resolution``: per model and score, how much more the patch maps
lose than the pixel maps, d = (mean change of the patch maps) - (mean change of the pixel maps), computed per seed
and tested as the verdict tests a paired effect (``stats.mean_test``: t-interval, t-test, TOST within the verdict's
δ, MDE) with the seeds as the unit. The two runs' canvases are different images, so nothing pairs below the seed;
with fewer than ``MIN_SEEDS`` seeds the interval is a bootstrap over each run's images (resampled independently:
training variance not counted) and there is no test. Controls are left out; models that failed a reliance check
have no ground truth and are left out where they failed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...stats import mean_test
from ...stats.paired import MIN_SEEDS
from ...store import MODEL_LEVEL
from ..run_files import RunFiles
from .reliance import with_ground_truth, without_ground_truth
from .truth import on_the_evidence

PLACEMENT_COLUMNS = ["kind", "model", "explainer", "resolution", "truth", "aligned", "straddling", "change", "seeds",
                     "unit", "n", "ci_low", "ci_high", "p_value", "tost_p", "mde"]
RESAMPLES = 1000
NO_ROWS = ("No explainer scored under both placements by a model with ground truth (a reliance check failed under "
           "one of them, or the runs share no seed).")


def _means(run: RunFiles, truth: str) -> pd.DataFrame:
    """(model, explainer, seed) x image: the run's scores under ``truth``, models without ground truth left out."""
    rows = with_ground_truth(run.results[(run.results.metric == truth) & (run.results.explainer != MODEL_LEVEL)],
                             without_ground_truth(run.reliance))
    return rows.pivot_table(index=["model", "explainer", "seed"], columns="sample", values="value")


def truth_labels(run: RunFiles) -> list[str]:
    """The run's ground-truth scores of its own evidence, in metrics.json's order."""
    present = set(run.results.metric)
    return [m for m in run.metrics if m in present and on_the_evidence(run.metrics.of(m))]


def placement_change(aligned: RunFiles, straddling: RunFiles, delta: float, alpha: float,
                     seed: int = 0) -> pd.DataFrame:
    """placement.csv's rows (``PLACEMENT_COLUMNS``) for two runs of one task under placement cell and anywhere."""
    rng = np.random.default_rng(seed)
    rows = []
    for truth in [t for t in truth_labels(straddling) if t in truth_labels(aligned)]:
        before, after = _means(aligned, truth), _means(straddling, truth)
        for model in sorted(set(before.index.get_level_values(0)) & set(after.index.get_level_values(0))):
            resolution = _resolutions(aligned, straddling, before.loc[model], after.loc[model])
            seeds = sorted(set(before.loc[model].index.get_level_values(1))
                           & set(after.loc[model].index.get_level_values(1)))
            if not resolution or not seeds:
                continue
            for explainer, kind in resolution.items():
                a, s = (frame.loc[model].loc[explainer].loc[seeds].mean(axis=1).mean() for frame in (before, after))
                rows.append(dict(kind="explainer", model=model, explainer=explainer, resolution=kind, truth=truth,
                                 aligned=a, straddling=s, change=s - a, seeds=len(seeds)))
            rows.append(_resolution_row(model, truth, (before.loc[model], after.loc[model]), resolution, seeds,
                                        (delta, alpha), rng))
    return pd.DataFrame(rows, columns=PLACEMENT_COLUMNS)


def _resolutions(aligned: RunFiles, straddling: RunFiles, before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """explainer -> its map's resolution, for the non-control explainers both runs scored."""
    both = sorted(set(before.index.get_level_values(0)) & set(after.index.get_level_values(0)))
    return {e: straddling.explainers.of(e).resolution for e in both
            if not straddling.explainers.of(e).is_control and not aligned.explainers.of(e).is_control}


def _gap(before: pd.DataFrame, after: pd.DataFrame, resolution: dict, seed: int) -> float:
    """d of one seed: the patch maps' mean change minus the pixel maps'."""
    change = {e: after.loc[(e, seed)].mean() - before.loc[(e, seed)].mean() for e in resolution}
    by = {kind: [change[e] for e, k in resolution.items() if k == kind] for kind in ("patch", "pixel")}
    return float(np.mean(by["patch"]) - np.mean(by["pixel"])) if by["patch"] and by["pixel"] else np.nan


def _resolution_row(model: str, truth: str, sides: tuple[pd.DataFrame, pd.DataFrame], resolution: dict,
                    seeds: list[int], levels: tuple[float, float], rng: np.random.Generator) -> dict:
    """The ``resolution`` row of one model and score; ``sides``: its (aligned, straddling) scores."""
    before, after = sides
    d = np.array([_gap(before, after, resolution, s) for s in seeds])
    row = dict(kind="resolution", model=model, explainer="patch maps - pixel maps", truth=truth,
               change=float(np.mean(d)), seeds=len(seeds))
    if len(seeds) >= MIN_SEEDS:
        test = mean_test(d, *levels)
        return {**row, "unit": "seeds", "n": len(seeds), **{k: test[k] for k in ("ci_low", "ci_high", "p_value",
                                                                                   "tost_p", "mde")}}
    draws = [np.nanmean([_gap(_resampled(before, rng), _resampled(after, rng), resolution, s) for s in seeds])
             for _ in range(RESAMPLES)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return {**row, "unit": "images", "n": int(before.shape[1]), "ci_low": float(low), "ci_high": float(high)}


def _resampled(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The frame with its images (columns) drawn with replacement, the same draw for every row."""
    return frame.iloc[:, rng.integers(0, frame.shape[1], frame.shape[1])]


def placement_markdown(table: pd.DataFrame) -> str:
    """Per model: each explainer's scores aligned -> straddling (patch maps first), then the patch-minus-pixel change
    per score with its interval; ``NO_ROWS`` without rows."""
    if table.empty:
        return NO_ROWS
    parts = []
    for model, part in table.groupby("model", sort=True):
        rows, gaps = part[part.kind == "explainer"], part[part.kind == "resolution"]
        truths = list(dict.fromkeys(rows.truth))
        lines = [f"**{model}** ({int(rows.seeds.max())} seed{'s' if rows.seeds.max() > 1 else ''}; "
                 "aligned -> straddling, the change)", "",
                 "| explainer | map | " + " | ".join(truths) + " |", "|---|---|" + "---|" * len(truths)]
        for (explainer, resolution), g in rows.sort_values(["resolution", "explainer"]).groupby(
                ["explainer", "resolution"], sort=False):
            cells = g.set_index("truth")
            lines.append(f"| {explainer} | {resolution} | " + " | ".join(
                f"{cells.aligned[t]:.3f} -> {cells.straddling[t]:.3f} ({cells.change[t]:+.3f})" if t in cells.index
                else "n/a" for t in truths) + " |")
        lines.append("")
        for r in gaps.itertuples():
            tested = (f"p {r.p_value:.2g}, TOST p {r.tost_p:.2g}, MDE {r.mde:.3g}" if r.unit == "seeds"
                      else f"no test: {r.seeds} seed{'s' if r.seeds > 1 else ''}, the interval over images only")
            lines.append(f"- {r.truth}: the patch maps' change minus the pixel maps' {r.change:+.3f} "
                         f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}] ({tested})")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
