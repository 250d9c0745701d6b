"""The verdict: IA-ViT's claims checked on a run's stored results by rules written in code.

Claims after Qiang et al. 2023, "Interpretability-Aware Vision Transformer" (arXiv:2309.08035): (i) the
interpreter's explanation is faithful (it beats a random map of its own resolution); (ii) it beats post hoc
attention explanations of the same model (last-layer attention; rollout, Abnar & Zuidema 2020); (iii) IA-ViT is
as accurate as its plain ViT; (iv) per ablation, what a change of the objective does to the interpreter; (v)
its map is concentrated; on planted evidence, (vi) its map puts its mass on the evidence the model uses and (vii)
more than attention and rollout do.

Rules (one row per check; ``effect`` > 0 = the claim's side is better, sign flipped for lower-is-better metrics):
- Reference IA-ViT R: a models.json variant of kind ia-vit whose baseline P is a plain-ViT variant; ablation A:
  kind ia-vit, baseline an ia-vit variant B. Without models.json (old runs): R = "ia-vit", P = "vit".
- Protocols: every faithfulness metric label (metrics.json ``name`` insertion, deletion, morf or lerf), each with
  its substrate and unit (pixel or patch); a row names its protocol.
- Effects, intervals and tests are about the mean paired difference (``paired``): the unit the seed with >= 3
  common seeds, else the image; ``mde`` the effect the row's single two-sided test detects with 80% power,
  ``mde_holm`` the one a decision read after Holm detects (at alpha / m for a family of m rows).
- A row's status, in this order: "no effect larger than δ" when the equivalence test (TOST at ±``delta``)
  rejects after Holm within the claim's rows; "holds" (or "improves") when p < alpha with effect > 0; "does not
  hold" ("worsens") when the Holm-adjusted p < alpha with effect < 0; else "inconclusive" ("no detectable
  effect"). For (i) and (ii) "holds" uses the unadjusted p: the claim holds only if every row holds, an
  intersection-union test (Berger 1982), which needs no correction; its "does not hold" is a union and is Holm-
  corrected within the claim's rows for one model. For (iv) every test is Holm-corrected across all ablations.
- (i) the interpreter vs each control at its own resolution (``random-patch`` and ``shuffled:ia-vit`` for its
  patch map) on every protocol; rows against a control of another resolution (pixel ``random``) are "info",
  shown, never deciding. (ii) vs ``attention`` and ``rollout`` (same resolution) on every protocol.
- (iii) effect = accuracy of R - accuracy of P: models.json test_acc per common seed when >= 3 seeds, else the
  per-image correctness on the test split (test_correctness.npz) per (seed, image), else (older runs) the
  ``accuracy`` metric per (seed, sample). Holds when TOST at ±``delta_accuracy`` rejects (90% interval inside);
  does not hold when the 95% interval lies entirely beyond the margin; else inconclusive.
- (v) effect = UNIFORM_THRESHOLD - mean normalised entropy of R/ia-vit: holds when the 95% interval is > 0, does
  not hold when it is < 0, else inconclusive. An "info" row gives the foreground-mass ratio beside R/random's.
- (vi), (vii) on planted evidence only (``truth``): the interpreter against its matched controls on every
  ground-truth score, with its model contrast, by the rules of (i); against attention and rollout, by those of (ii).
- With >= 3 seeds, (i)-(iii) rows carry the shares of the effect's variance due to seeds, images and their
  interaction (``variance``). A check whose input is missing is one "inconclusive" row saying what is missing.
"""

from __future__ import annotations

import pandas as pd

from ...config import VerdictConfig
from ...records import ExplainerRecords
from ..ground_truth.reliance import with_ground_truth
from ..run_files import RunRecords
from .claims import accuracy_row, concentration_rows
from .rows import (
    ABLATION,
    COLUMNS,
    QUESTIONS,
    RULE,
    Levels,
    compared,
    decide,
    pair_rows,
    protocol_key,
    protocol_of,
    row,
    series,
)
from .truth import PlantedEvidence, truth_protocols, truth_rows

__all__ = ["COLUMNS", "QUESTIONS", "controls", "variants", "verdict"]


def variants(models_info: dict, present: set[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(reference pairs (R, P), ablations (A, B)) among the models in ``present``."""
    if not models_info:
        return ([("ia-vit", "vit")] if {"ia-vit", "vit"} <= present else []), []
    kinds = {name: info.get("kind") for name, info in models_info.items()}
    references, ablations = [], []
    for name, info in models_info.items():
        base = info.get("baseline") or ""
        if kinds[name] == "ia-vit" and name in present and base in kinds:
            {"vit": references, "ia-vit": ablations}.get(kinds[base], []).append((name, base))
    return references, ablations


def _comparisons(results: pd.DataFrame, claim: str, model: str, pairs: list[tuple[tuple[str, str], str, str]],
                 faith: dict[str, bool], settings: VerdictConfig) -> list[dict]:
    """Rows of ``pairs`` ((model, explainer) a, b's explainer label, control text; a control text starting with
    "not matched" makes "info" rows) on every faithfulness protocol of ``faith`` (label -> lower is better)."""
    if not faith:
        return [row(claim, model, "no faithfulness metric (insertion, deletion, morf, lerf) in this run")]
    levels = Levels(settings.delta, settings.alpha)
    return decide(pair_rows(results, claim, model, pairs, faith, levels), settings.alpha, RULE, iut=True)


def controls(explainers_info: ExplainerRecords, interpreter: str, present: set[str]) -> list[tuple[str, str]]:
    """(label, control text) of the run's random controls for ``interpreter``: those at its resolution (the
    random control of that resolution, and its own shuffled map) first, then the others as "not matched"."""
    resolution = explainers_info.of(interpreter).resolution
    out = []
    for label in sorted(present):
        record = explainers_info.of(label)
        if record.name in ("random", "random-patch") or record.shuffles == interpreter:
            own = record.resolution
            text = (f"matched ({own})" if own == resolution else f"not matched ({own} control, {resolution} map): "
                    "for reference only")
            out.append((label, text))
    return sorted(out, key=lambda item: item[1].startswith("not matched"))


def verdict(results: pd.DataFrame, records: RunRecords, settings: VerdictConfig | None = None,
            correctness: dict[str, pd.Series] | None = None, evidence: PlantedEvidence | None = None) -> pd.DataFrame:
    """One row per claim check (COLUMNS), claims in order i..vii; empty when the run has no reference IA-ViT.
    ``records``: the run's metrics, explainers and models (``RunRecords``).
    ``correctness``: model -> per-image correctness on the test split, indexed by (seed, image) (claim iii).
    ``evidence``: None for a run without planted evidence (no claims vi, vii), else what claims (vi) and (vii) read
    of it (``truth.PlantedEvidence``: the models without ground truth, left out of them, and the model contrast)."""
    settings = settings or VerdictConfig()
    metrics_info, explainers_info, models_info = records.metrics, records.explainers, records.models
    scored = {label: r for label, r in metrics_info.items() if label in set(results.metric)}
    labels = {label: r.name for label, r in scored.items()}
    faith = {label: (r.lower_is_better, protocol_of(label, metrics_info)) for label, r in scored.items() if r.curve}
    faith = dict(sorted(faith.items(), key=lambda item: protocol_key(item[1][1])))
    references, ablations = variants(models_info, set(results.model))
    rows: list[dict] = []
    for ref, base in references:
        interpreter, present = (ref, "ia-vit"), set(results.explainer[results.model == ref])
        found = controls(explainers_info, "ia-vit", present)
        if not any(not text.startswith("not matched") for _, text in found):
            rows.append(row("i", ref, "no control at the interpreter's resolution (random-patch or shuffled:ia-vit) "
                                      "in this run: a control of another resolution cannot decide"))
        rows += _comparisons(results, "i", ref, [(interpreter, label, text) for label, text in found], faith,
                             settings)
        rows += _comparisons(results, "ii", ref, [(interpreter, e, "same resolution (patch)")
                                                  for e in ("attention", "rollout")], faith, settings)
        rows += [accuracy_row(results, labels, models_info, ref, base, settings, correctness)]
        rows += concentration_rows(results, labels, ref, settings.alpha)
        if evidence is not None:
            rows += truth_rows(with_ground_truth(results, evidence.excluded), truth_protocols(scored), ref, found,
                               settings, evidence)
    ablation_rows: list[dict] = []
    for ablation, base in ablations:
        have = set(zip(results.model, results.explainer))
        if not {(ablation, "ia-vit"), (base, "ia-vit")} <= have:
            ablation_rows.append(row("iv", ablation, f"{ablation}/ia-vit or {base}/ia-vit not in this run"))
            continue
        ablation_rows += [compared("iv", ablation, f"{ablation}/ia-vit vs {base}/ia-vit on {metric}",
                                   series(results, ablation, "ia-vit", metric), series(results, base, "ia-vit", metric),
                                   -1 if lower else 1, Levels(settings.delta, settings.alpha), protocol=protocol)
                          for metric, (lower, protocol) in faith.items()]
    rows += decide(ablation_rows, settings.alpha, ABLATION, iut=False)  # one family: every ablation's rows
    if references and not ablations:
        rows.append(row("iv", "", "no ablation variant in this run"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("claim", key=lambda c: c.map(list(QUESTIONS).index), kind="stable", ignore_index=True)
