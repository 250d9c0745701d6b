"""Model contrast on planted evidence (after BAM, Yang & Kim 2019): the same canvases explained for a model trained to
read the motif and for one trained to read the garment; an explanation that shows what its model uses puts more of
its mass on the motif under the motif model. ``contrast`` = evidence mass on the motif's pixels under the motif
model minus under the garment model, paired by (seed, image), per model kind and explainer; an explainer that
ignores the model (a random map seeded by the image) scores 0 exactly.

Two runs of ``evidence-fashion-mnist`` that differ in ``task`` only give the pair (the same data seed and options:
the same canvases; the same drawn images). Each run's score is its pixel-level evidence mass (``foreground-mass``)
on the motif: the motif run's evidence mask, the garment run's ``foreground-mass`` with ``mask: motif``. Models
without ground truth in either run (``reliance.csv``) are left out. The statistics are the verdict's
(``paired.paired_effect``): seeds as the unit with >= 3 seeds, else images.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...errors import UserError
from ...stats import paired_effect
from ..run_files import RunFiles
from .reliance import with_ground_truth, without_ground_truth

CONTRAST_COLUMNS = ["model", "explainer", "contrast", "ci_low", "ci_high", "p_value", "unit", "n", "motif_model",
                    "garment_model"]


def _task(run: RunFiles) -> tuple[str, dict[str, Any]]:
    dataset = run.manifest.get("dataset") or {}
    options = dict(dataset.get("options") or {})
    if dataset.get("name") != "evidence-fashion-mnist" or "task" not in options:
        raise UserError(f"'{run.path}' is not a run on evidence-fashion-mnist; model contrast compares a run with "
                        "task motif and one with task garment")
    return str(options.pop("task")), options


def motif_mass_label(run: RunFiles, task: str) -> str:
    """The label of the run's pixel-level evidence mass on the motif's pixels."""
    for label, record in run.metrics.items():
        on_motif = record.mask == "motif" or (record.mask is None and task == "motif")
        if record.name == "foreground-mass" and (record.unit or "pixel") == "pixel" and on_motif:
            return label
    hint = "" if task == "motif" else " (add {name: foreground-mass, label: motif-mass, options: {mask: motif}})"
    raise UserError(f"'{run.path}' has no pixel-level evidence mass on the motif{hint}")


def model_contrast(motif: RunFiles, garment: RunFiles) -> pd.DataFrame:
    """contrast.csv's rows (``CONTRAST_COLUMNS``): motif-run mass minus garment-run mass on the motif."""
    (first, first_options), (second, second_options) = _task(motif), _task(garment)
    if {first, second} != {"motif", "garment"}:
        raise UserError("model contrast needs one run with task motif and one with task garment, got tasks "
                        f"{first} and {second}")
    if first_options != second_options:
        raise UserError("the two runs' canvases differ (their dataset options differ beyond task); run both with "
                        "the same data options")
    tasks = {first: motif, second: garment}
    sides = {}
    for task, run in tasks.items():
        rows = with_ground_truth(run.results[run.results.metric == motif_mass_label(run, task)],
                                 without_ground_truth(run.reliance))
        sides[task] = rows.set_index(["model", "explainer", "seed", "sample"]).value
    out = []
    for (model, explainer), m in sides["motif"].groupby(level=[0, 1]):
        if (model, explainer) not in sides["garment"].index.droplevel([2, 3]):
            continue
        g = sides["garment"].loc[(model, explainer)]
        effect = paired_effect(m.droplevel([0, 1]), g)
        out.append(dict(model=model, explainer=explainer, contrast=effect.get("effect"), ci_low=effect.get("ci_low"),
                        ci_high=effect.get("ci_high"), p_value=effect.get("p_value"), unit=effect.get("unit"),
                        n=effect.get("n"), motif_model=float(m.mean()), garment_model=float(g.mean())))
    return pd.DataFrame(out, columns=CONTRAST_COLUMNS)


NO_PAIR = ("No model contrast: no model and seed has ground truth in both runs (each run's reliance.csv says which "
           "check failed).")


def contrast_markdown(contrast: pd.DataFrame) -> str:
    """The table of model contrasts, largest first per model; ``NO_PAIR`` without rows."""
    if contrast.empty:
        return NO_PAIR
    lines = ["| model | explainer | motif mass: motif model | garment model | contrast [95% CI] | p | unit (n) |",
             "|---|---|---|---|---|---|---|"]
    for r in contrast.sort_values(["model", "contrast"], ascending=[True, False]).itertuples():
        lines.append(f"| {r.model} | {r.explainer} | {r.motif_model:.3g} | {r.garment_model:.3g} | "
                     f"{r.contrast:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] | {r.p_value:.2g} | {r.unit} ({r.n}) |")
    return "\n".join(lines)
