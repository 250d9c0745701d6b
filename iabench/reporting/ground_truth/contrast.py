"""Model contrast on planted evidence (after BAM, Yang & Kim 2019): the same canvases explained for a model trained to
read the motif and for one trained to read the garment; an explanation that shows what its model uses puts more of
its mass on the motif under the motif model. ``contrast`` = evidence mass on the motif's pixels under the motif
model minus under the garment model, paired by (seed, image), per model kind and explainer; an explainer that
ignores the model (a random map seeded by the image) scores 0 exactly.

Which runs pair is the dataset's to say (its ``GroundTruth.contrast``), and the report reads it from each run's
manifest (the dataset's ``ground_truth``): for ``evidence-fashion-mnist``, two runs that differ in ``task`` only (the
same data seed and options: the same canvases; the same drawn images). Each run's score is its pixel-level evidence
mass (``foreground-mass``) on the pairing's mask: the motif run's evidence mask, the garment run's
``foreground-mass`` with ``mask: motif``. The columns keep those names (``motif_model``, ``garment_model``: the
subject's and the other's). Models without ground truth in either run (``reliance.csv``) are left out. The
statistics are the verdict's (``stats.paired_effect``): seeds as the unit with >= 3 seeds, else images.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...errors import UserError
from ...records import ContrastPairing
from ...stats import paired_effect
from ..run_files import RunFiles
from .reliance import with_ground_truth, without_ground_truth

CONTRAST_COLUMNS = ["model", "explainer", "contrast", "ci_low", "ci_high", "p_value", "unit", "n", "motif_model",
                    "garment_model"]


def _recorded(run: RunFiles) -> dict[str, Any]:
    """What the run's manifest recorded of its dataset's planted-evidence protocol ({} for none)."""
    return (run.manifest.get("dataset") or {}).get("ground_truth") or {}


def recorded_pairing(run: RunFiles) -> ContrastPairing | None:
    """The model contrast the run's dataset pairs, as its manifest recorded it; None for a run without one."""
    contrast = _recorded(run).get("contrast")
    return ContrastPairing(**contrast) if contrast else None


def _side(run: RunFiles) -> tuple[str, str, ContrastPairing, dict[str, Any]]:
    """(the run's labelling, its evidence mask, its pairing, its dataset options other than the pairing's)."""
    pairing = recorded_pairing(run)
    if pairing is None:
        raise UserError(f"'{run.path}' is not a run on planted evidence with a model contrast (e.g. "
                        "evidence-fashion-mnist: a run with task motif and one with task garment); a run written "
                        f"before runs recorded their dataset's contrast: `iabench refresh {run.path}` once")
    options = dict((run.manifest.get("dataset") or {}).get("options") or {})
    options.pop(pairing.option, None)
    return str(_recorded(run)["labelling"]), str(_recorded(run)["evidence_mask"]), pairing, options


def _added_later(*runs: RunFiles) -> dict[str, Any]:
    """The options the runs' dataset gained later, with the value a run recorded without them had."""
    added: dict[str, Any] = {}
    for run in runs:
        added.update((run.manifest.get("dataset") or {}).get("options_added_later") or {})
    return added


def mass_label(run: RunFiles, evidence_mask: str, pairing: ContrastPairing) -> str:
    """The label of the run's pixel-level evidence mass on the pairing's mask: its own evidence mass where its
    evidence is that mask, else ``foreground-mass`` with ``mask`` set to it."""
    for label, record in run.metrics.items():
        on_mask = record.mask == pairing.mask or (record.mask is None and evidence_mask == pairing.mask)
        if record.name == "foreground-mass" and (record.unit or "pixel") == "pixel" and on_mask:
            return label
    hint = "" if evidence_mask == pairing.mask else (f" (add {{name: foreground-mass, label: {pairing.mask}-mass, "
                                                     f"options: {{mask: {pairing.mask}}}}})")
    raise UserError(f"'{run.path}' has no pixel-level evidence mass on the {pairing.mask}{hint}")


def checked_pair(first: RunFiles, second: RunFiles) -> tuple[ContrastPairing, tuple[str, str], tuple[str, str]]:
    """(the pairing, (labelling, evidence mask) of the subject, of the other) of two runs that pair, the subject
    first; a ``UserError`` naming what is wrong for two that do not."""
    (first_label, first_mask, pairing, first_options), (second_label, second_mask, other_pairing, second_options) = (
        _side(first), _side(second))
    if other_pairing != pairing:
        raise UserError(f"'{first.path}' and '{second.path}' record different model contrasts (another dataset?); "
                        "give two runs of the same dataset")
    if {first_label, second_label} != {pairing.subject, pairing.other}:
        raise UserError(f"model contrast needs one run with {pairing.option} {pairing.subject} and one with "
                        f"{pairing.option} {pairing.other}, got {pairing.option}s {first_label} and {second_label}")
    if first_label != pairing.subject:
        raise UserError(f"the runs are in the wrong order: first the {pairing.option} {pairing.subject} run (its "
                        f"folder receives contrast.csv), then the {pairing.option} {pairing.other} run; give "
                        f"'{second.path}' first")
    before = _added_later(first, second)  # a run written before an option existed had its neutral value
    if {**before, **first_options} != {**before, **second_options}:
        raise UserError(f"the two runs' canvases differ (their dataset options differ beyond {pairing.option}); run "
                        "both with the same data options")
    return pairing, (first_label, first_mask), (second_label, second_mask)


def model_contrast(first: RunFiles, second: RunFiles) -> pd.DataFrame:
    """contrast.csv's rows (``CONTRAST_COLUMNS``): the subject run's mass on the pairing's mask minus the other's."""
    pairing, (first_label, first_mask), (second_label, second_mask) = checked_pair(first, second)
    sides = {}
    for label, mask, run in ((first_label, first_mask, first), (second_label, second_mask, second)):
        rows = with_ground_truth(run.results[run.results.metric == mass_label(run, mask, pairing)],
                                 without_ground_truth(run.reliance))
        sides[label] = rows.set_index(["model", "explainer", "seed", "sample"]).value.sort_index()
    out = []
    for (model, explainer), m in sides[pairing.subject].groupby(level=[0, 1]):
        if (model, explainer) not in sides[pairing.other].index.droplevel([2, 3]):
            continue
        g = sides[pairing.other].loc[(model, explainer)]
        effect = paired_effect(m.droplevel([0, 1]), g)
        out.append(dict(model=model, explainer=explainer, contrast=effect.get("effect"), ci_low=effect.get("ci_low"),
                        ci_high=effect.get("ci_high"), p_value=effect.get("p_value"), unit=effect.get("unit"),
                        n=effect.get("n"), motif_model=float(m.mean()), garment_model=float(g.mean())))
    return pd.DataFrame(out, columns=CONTRAST_COLUMNS)


NO_PAIR = ("No model contrast: no model and seed has ground truth in both runs (each run's reliance.csv says which "
           "check failed).")


def contrast_markdown(contrast: pd.DataFrame, pairing: ContrastPairing | None) -> str:
    """The table of model contrasts, largest first per model, its columns named by the ``pairing`` (None: a run
    written before runs recorded it); ``NO_PAIR`` without rows."""
    if contrast.empty:
        return NO_PAIR
    sides = (f"{pairing.mask} mass: {pairing.subject} model | {pairing.other} model" if pairing is not None
             else "mass: first model | second model")
    lines = [f"| model | explainer | {sides} | contrast [95% CI] | p | unit (n) |", "|---|---|---|---|---|---|---|"]
    for r in contrast.sort_values(["model", "contrast"], ascending=[True, False]).itertuples():
        lines.append(f"| {r.model} | {r.explainer} | {r.motif_model:.3g} | {r.garment_model:.3g} | "
                     f"{r.contrast:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] | {r.p_value:.2g} | {r.unit} ({r.n}) |")
    return "\n".join(lines)
