"""Claims (vi) and (vii), on planted evidence: scores built so that each decision is known, and flips when the rule
behind it changes (the contrast required, the controls matched, the models without ground truth left out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iabench.records import ContrastPairing
from iabench.refresh import explainer_records, metric_records
from iabench.reporting.run_files import RunRecords
from iabench.reporting.verdict.rules import verdict as run_verdict
from iabench.reporting.verdict.text import verdict_markdown
from iabench.reporting.verdict.truth import PlantedEvidence

METRICS = metric_records({
    "foreground-mass": {"name": "foreground-mass", "direction": "higher", "unit": "pixel"},
    "evidence-auc[patch]": {"name": "evidence-auc", "direction": "higher", "unit": "patch"},
    "motif-mass": {"name": "foreground-mass", "direction": "higher", "unit": "pixel", "mask": "motif"},
})
EXPLAINERS = explainer_records({
    "ia-vit": {"name": "ia-vit", "resolution": "patch"}, "attention": {"name": "attention", "resolution": "patch"},
    "rollout": {"name": "rollout", "resolution": "patch"},
    "random-patch": {"name": "random-patch", "family": "control", "resolution": "patch"}})
MODELS = {"vit": {"kind": "vit", "baseline": ""}, "ia-vit": {"kind": "ia-vit", "baseline": "vit"}}
PAIRING = ContrastPairing(option="task", subject="motif", other="garment", mask="motif")  # evidence-fashion-mnist's


def verdict(results, metrics, models, explainers, without_truth=None, contrast=None):  # noqa: ANN001, ANN201
    """The verdict of a run that recorded these metrics, models and explainers (JSON entries)."""
    evidence = None if without_truth is None else PlantedEvidence(without_truth, contrast, PAIRING)
    return run_verdict(results, RunRecords.read(metrics, explainers, models), evidence=evidence)
SEEDS, SAMPLES = (0, 1, 2), 10


def _results(gain: dict[str, float], seed_gain: dict[int, float] | None = None) -> pd.DataFrame:
    """Every explainer at a base level per (seed, sample) plus its ``gain`` (the interpreter also + seed_gain[seed]),
    noise of 0.01 so that a t-test is defined."""
    rng = np.random.default_rng(3)
    rows = []
    for metric in METRICS:
        for seed in SEEDS:
            base = rng.uniform(1.0, 2.0, SAMPLES)
            for explainer in EXPLAINERS:
                extra = (seed_gain or {}).get(seed, 0.0) if explainer == "ia-vit" else 0.0
                values = base + gain.get(explainer, 0.0) + extra + rng.normal(0, 0.01, SAMPLES)
                rows += [("r", seed, "ia-vit", explainer, metric, i, v) for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["run", "seed", "model", "explainer", "metric", "sample", "value"])


def _contrast(effect: float, p: float) -> pd.DataFrame:
    return pd.DataFrame([dict(model="ia-vit", explainer="ia-vit", contrast=effect, ci_low=effect - 0.1,
                              ci_high=effect + 0.1, p_value=p, unit="seed", n=3)])


def _claims(results: pd.DataFrame, without=frozenset(), contrast: pd.DataFrame | None = None) -> pd.DataFrame:
    claims = verdict(results, METRICS, MODELS, EXPLAINERS, without_truth=set(without), contrast=contrast)
    return claims[claims.claim.isin(["vi", "vii"])]


def test_no_ground_truth_claims_without_planted_evidence() -> None:
    claims = verdict(_results({"ia-vit": 0.5}), METRICS, MODELS, EXPLAINERS)
    assert not claims.claim.isin(["vi", "vii"]).any()


def test_vi_holds_only_with_every_control_row_and_the_contrast() -> None:
    results = _results({"ia-vit": 0.5, "attention": 0.8, "rollout": 0.2})
    claims = _claims(results, contrast=_contrast(3.0, 0.001))
    vi, vii = claims[claims.claim == "vi"], claims[claims.claim == "vii"]
    assert set(vi.protocol) == {"evidence mass, pixel unit", "evidence ROC AUC, patch unit",
                                "model contrast, pixel unit"}  # the motif mass (mask: motif) is no protocol
    assert (vi.status == "holds").all() and len(vi) == 3
    assert vi.set_index("protocol").loc["evidence mass, pixel unit"].effect == pytest.approx(0.5, abs=0.02)
    statuses = vii.set_index("comparison").status
    assert statuses["ia-vit/ia-vit vs ia-vit/attention on foreground-mass"] == "does not hold"
    assert statuses["ia-vit/ia-vit vs ia-vit/rollout on foreground-mass"] == "holds"
    text = verdict_markdown(claims, MODELS)
    assert "**Claim (vi)**: On planted evidence" in text
    assert ("Holds for ia-vit: better than random-patch and interpreter under the garment model under all 3 rows; "
            "the closest") in text
    assert "Does not hold for ia-vit: attention is better under 2 of 4 rows" in text

    no_contrast = _claims(results)
    vi = no_contrast[no_contrast.claim == "vi"]
    assert vi.status.tolist().count("holds") == 2 and "no model contrast of ia-vit/ia-vit" in vi.comparison.iloc[-1]
    assert ("Inconclusive for ia-vit: better under all 2 protocols (not checked: no model contrast of ia-vit/ia-vit"
            in verdict_markdown(no_contrast, MODELS))
    against = _claims(results, contrast=_contrast(-3.0, 0.001))
    assert against[against.protocol == "model contrast, pixel unit"].status.item() == "does not hold"


def test_models_without_ground_truth_are_left_out_of_the_claims() -> None:
    results = _results({"ia-vit": 0.05}, seed_gain={2: -0.3})  # seed 2's interpreter is far worse
    kept = _claims(results, contrast=_contrast(3.0, 0.001))
    assert (kept[kept.claim == "vi"].status != "holds").any()
    left_out = _claims(results, without={("ia-vit", 2)}, contrast=_contrast(3.0, 0.001))
    vi = left_out[(left_out.claim == "vi") & (left_out.protocol != "model contrast, pixel unit")]
    assert (vi.status == "holds").all() and (vi.unit == "image").all() and (vi.n == 20).all()  # 2 seeds: images


def test_a_contrast_without_its_recorded_pairing_asks_for_refresh() -> None:
    results = _results({"ia-vit": 0.5, "attention": 0.8, "rollout": 0.2})
    evidence = PlantedEvidence(set(), _contrast(3.0, 0.001), pairing=None)  # a run written before the record
    claims = run_verdict(results, RunRecords.read(METRICS, EXPLAINERS, MODELS), evidence=evidence)
    row = claims[(claims.claim == "vi") & claims.comparison.str.contains("contrast")].iloc[0]
    assert "iabench refresh" in row.comparison and row.status == "inconclusive" and row.unit == ""
    named = _claims(results, contrast=_contrast(3.0, 0.001))  # with it: the pairing names the comparator
    assert "ia-vit/ia-vit vs ia-vit(garment)/interpreter under the garment model on motif mass" in set(named.comparison)
