"""The verdict's ground-truth claims, on planted evidence (a run whose models were checked by ``reliance``):

- (vi) the interpreter's map puts its mass on the evidence the model uses: it beats each random map of its own
  resolution (``random-patch``, its own shuffled map) on every ground-truth score (evidence mass and evidence ROC AUC,
  per pixel and per patch), and its model contrast (``iabench contrast``: its mass on the motif under the motif model
  minus under the garment model) is > 0. The rules of (i): an intersection-union test, "holds" at the unadjusted p
  when every row holds, "does not hold" after Holm over the claim's rows; without a contrast the claim is not fully
  checked (an inconclusive row says so).
- (vii) it puts more of its mass on the evidence than last-layer attention and rollout, the rules of (ii).

Models and seeds without ground truth (they failed a reliance check) are left out of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...config import VerdictConfig
from ...records import ContrastPairing, MetricRecord
from ..ground_truth.truth import TRUTH_SCORES, on_the_evidence
from .rows import RULE, Levels, decide, pair_rows, row


@dataclass(frozen=True)
class PlantedEvidence:
    """A run on planted evidence as claims (vi) and (vii) read it: the (model, seed) pairs without ground truth
    (they failed a reliance check), and its model contrast (contrast.csv's rows, once ``iabench contrast`` ran)
    with the pairing its dataset declared."""

    excluded: set[tuple[str, int]] = field(default_factory=set)
    contrast: pd.DataFrame | None = None
    pairing: ContrastPairing | None = None


def truth_protocols(records: dict[str, MetricRecord]) -> dict[str, tuple[bool, str]]:
    """label -> (lower is better, 'evidence mass, pixel unit') of the run's ground-truth scores on its evidence."""
    return {label: (r.lower_is_better, f"{TRUTH_SCORES[r.name]}, {r.unit or 'pixel'} unit")
            for label, r in records.items() if on_the_evidence(r)}


def _contrast_row(evidence: PlantedEvidence, ref: str) -> dict:
    """The (vi) row of the interpreter's model contrast, undecided, or one saying it was not run."""
    contrast, pairing = evidence.contrast, evidence.pairing
    if contrast is not None and pairing is None:  # written before runs recorded their dataset's pairing
        return row("vi", ref, "a model contrast without the pairing its dataset declares: run `iabench refresh "
                              "RUN_DIR` once, then report it")
    found = None if contrast is None else contrast[(contrast.model == ref) & (contrast.explainer == "ia-vit")]
    if found is None or found.empty:
        return row("vi", ref, f"no model contrast of {ref}/ia-vit (iabench contrast MOTIF_RUN GARMENT_RUN)")
    r, other = found.iloc[0], pairing.other
    return row("vi", ref, f"{ref}/ia-vit vs {ref}({other})/interpreter under the {other} model on {pairing.mask} "
               "mass", status="",
               protocol="model contrast, pixel unit", control="the same canvases", effect=float(r.contrast),
               ci_low=float(r.ci_low), ci_high=float(r.ci_high), p_value=float(r.p_value), unit=str(r.unit),
               n=int(r.n))


def truth_rows(results: pd.DataFrame, truth: dict[str, tuple[bool, str]], ref: str,
               found: list[tuple[str, str]], settings: VerdictConfig, evidence: PlantedEvidence) -> list[dict]:
    """The rows of (vi) and (vii) for the reference IA-ViT ``ref``; ``found``: its matched controls (label, text)."""
    if not truth:
        return [row(claim, ref, "no ground-truth score (foreground-mass, evidence-auc) in this run")
                for claim in ("vi", "vii")]

    def rows_of(claim: str, pairs: list[tuple[str, str]]) -> list[dict]:
        return pair_rows(results, claim, ref, [((ref, "ia-vit"), label, text) for label, text in pairs], truth,
                         Levels(settings.delta, settings.alpha), absent="has no ground-truth scores")

    matched = [(label, text) for label, text in found if not text.startswith("not matched")]
    controls = rows_of("vi", matched) if matched else [row("vi", ref, "no control at the interpreter's resolution")]
    maps = rows_of("vii", [(e, "same resolution (patch)") for e in ("attention", "rollout")])
    return (decide(controls + [_contrast_row(evidence, ref)], settings.alpha, RULE, iut=True)
            + decide(maps, settings.alpha, RULE, iut=True))
