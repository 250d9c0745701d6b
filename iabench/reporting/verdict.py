"""The verdict: IA-ViT's claims checked on a run's stored results by rules written in code.

Claims after Qiang et al. 2023, "Interpretability-Aware Vision Transformer" (arXiv:2309.08035): (i) the
interpreter's explanation is faithful (it beats a random map); (ii) it beats post hoc attention explanations of
the same model (last-layer attention; rollout, Abnar & Zuidema 2020); (iii) IA-ViT is as accurate as its plain
ViT; (iv) per ablation, what a change of the objective does to the interpreter; (v) its map is concentrated.

Rules (one row per check; ``effect`` > 0 = the claim's side is better, sign flipped for lower-is-better metrics):
- Reference IA-ViT R: a models.json variant of kind ia-vit whose baseline P is a plain-ViT variant; ablation A:
  kind ia-vit, baseline an ia-vit variant B. Without models.json (old runs): R = "ia-vit", P = "vit" when both
  are in results.csv; no ablations.
- Faithfulness metrics: the labels whose metrics.json ``name`` is insertion, deletion, morf or lerf.
- Paired effect of A vs B: ``stats.paired_effect`` over (seed, sample) pairs of the common seeds: >= 3 common
  seeds: unit seed (per-seed mean differences, t-interval, paired t-test), else unit image (bootstrap interval,
  Wilcoxon). p_value is Holm-adjusted (Holm 1979) within a claim's comparisons for one model. A comparison is
  better if p < alpha and effect > 0, worse if p < alpha and effect < 0, else undecided.
- (i) R/ia-vit vs R/random, (ii) vs R/attention and R/rollout, on every faithfulness metric: a row holds
  (better), does not hold (worse) or is inconclusive (undecided); the claim holds for R when every row holds,
  does not hold when any row does not, else is inconclusive (``overall``).
- (iii) effect = accuracy of R - accuracy of P: models.json test_acc per common seed when >= 3 seeds, else the
  ``accuracy`` metric per (seed, sample). Holds when the 95% interval lies within +-MARGIN; does not hold when
  it lies entirely below -MARGIN (IA-ViT worse) or above +MARGIN (IA-ViT more accurate); else inconclusive.
  p_value: the two-sided test of no difference, for information (the rule is the interval).
- (iv) per ablation A of B: A/ia-vit vs B/ia-vit on every faithfulness metric, Holm across that ablation's
  metrics: improves (better), worsens (worse), no detectable effect (undecided).
- (v) effect = UNIFORM_THRESHOLD - mean normalised entropy of R/ia-vit (seed or image unit as above, p against
  the threshold): holds when the whole interval is > 0, does not hold when it is < 0, else inconclusive. An
  "info" row shows R/ia-vit's mean foreground-mass ratio beside R/random's.
- A check whose input is missing is one "inconclusive" row saying what is missing, never an exception.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .stats import ALPHA, MIN_SEEDS, holm, paired_effect

MARGIN = 0.01  # accuracy equivalence margin, 1 point: a smaller gap is too small to matter for the claim
UNIFORM_THRESHOLD = 0.9  # "far from uniform" = at least 10% below the maximum normalised entropy (1 = uniform)
FAITHFULNESS = ("insertion", "deletion", "morf", "lerf")
COLUMNS = ["claim", "question", "model", "comparison", "status", "effect", "ci_low", "ci_high", "p_value", "unit",
           "n"]
QUESTIONS = {
    "i": "Does the interpreter's explanation beat a random map on every faithfulness metric?",
    "ii": "Does the interpreter beat post hoc attention maps (last-layer attention, rollout) of the same model?",
    "iii": f"Is IA-ViT as accurate as its plain ViT (within {MARGIN * 100:g} point)?",
    "iv": "What does each change of the objective (ablation) do to the interpreter's faithfulness?",
    "v": f"Is the interpreter's map far from uniform (normalised entropy below {UNIFORM_THRESHOLD:g})?",
}
RULE = {"better": "holds", "worse": "does not hold", "undecided": "inconclusive"}
ABLATION = {"better": "improves", "worse": "worsens", "undecided": "no detectable effect"}


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


def _row(claim: str, model: str, comparison: str, status: str = "inconclusive", **values) -> dict:
    base = dict(effect=math.nan, ci_low=math.nan, ci_high=math.nan, p_value=math.nan, unit="", n=0)
    return dict(claim=claim, question=QUESTIONS[claim], model=model, comparison=comparison, status=status,
                **{**base, **values})


def _series(results: pd.DataFrame, model: str, explainer: str, metric: str) -> pd.Series:
    part = results[(results.model == model) & (results.explainer == explainer) & (results.metric == metric)]
    return part.groupby(["seed", "sample"])["value"].first()


def _oriented(claim: str, model: str, comparison: str, effect: dict, sign: float) -> dict:
    if not effect["n"]:
        return _row(claim, model, f"no paired scores for {comparison}")
    low, high = sorted((sign * effect["ci_low"], sign * effect["ci_high"]))
    return _row(claim, model, comparison, "", effect=sign * effect["effect"], ci_low=low, ci_high=high,
                p_value=effect["p_value"], unit=effect["unit"], n=effect["n"])


def _decide(rows: list[dict], alpha: float, names: dict[str, str]) -> list[dict]:
    """Holm across the tested rows (status still empty), then better / worse / undecided by ``names``."""
    tested = [r for r in rows if not r["status"]]
    for row, p in zip(tested, holm(np.array([r["p_value"] for r in tested], dtype=float))):
        outcome = "undecided" if not p < alpha or row["effect"] == 0 else ("better" if row["effect"] > 0 else "worse")
        row.update(p_value=float(p), status=names[outcome])
    return rows


def _claim(results: pd.DataFrame, claim: str, model: str, pairs: list[tuple[tuple[str, str], tuple[str, str]]],
           faith: dict[str, bool], alpha: float, names: dict[str, str]) -> list[dict]:
    """Each (a, b) (model, explainer) pair on every faithfulness metric (``faith``: label -> lower is better),
    Holm across all of them: the claim's group of comparisons for this model."""
    if not faith:
        return [_row(claim, model, "no faithfulness metric (insertion, deletion, morf, lerf) in this run")]
    have, rows = set(zip(results.model, results.explainer)), []
    for a, b in pairs:
        missing = [f"{m}/{e}" for m, e in (a, b) if (m, e) not in have]
        rows += [_row(claim, model, f"{' and '.join(missing)} not in this run")] if missing else [
            _oriented(claim, model, f"{a[0]}/{a[1]} vs {b[0]}/{b[1]} on {metric}",
                      paired_effect(_series(results, *a, metric), _series(results, *b, metric)), -1 if lower else 1)
            for metric, lower in faith.items()]
    return _decide(rows, alpha, names)


def _accuracy(results: pd.DataFrame, labels: dict[str, str], models_info: dict, ref: str, base: str) -> dict:
    accuracy = [{s: v["test_acc"] for s, v in (models_info.get(name, {}).get("seeds") or {}).items()
                 if isinstance(v, dict) and v.get("test_acc") is not None} for name in (ref, base)]
    common = sorted(set(accuracy[0]) & set(accuracy[1]), key=str)
    per_image = [label for label, name in labels.items() if name == "accuracy"]
    if len(common) >= MIN_SEEDS:
        index = pd.MultiIndex.from_tuples([(s, 0) for s in common])
        a, b = (pd.Series([acc[s] for s in common], index=index, dtype=float) for acc in accuracy)
        source = f"{ref} vs {base}: test accuracy (models.json)"
    elif per_image:
        a, b = _series(results, ref, "-", per_image[0]), _series(results, base, "-", per_image[0])
        source = f"{ref} vs {base}: {per_image[0]} on the evaluated images"
    else:
        return _row("iii", ref, f"no test accuracy of {ref} and {base} (models.json or an accuracy metric)")
    row = _oriented("iii", ref, source, paired_effect(a, b), 1)
    if row["unit"]:
        low, high = row["ci_low"], row["ci_high"]
        inside, outside = -MARGIN <= low and high <= MARGIN, high < -MARGIN or low > MARGIN
        row["status"] = "holds" if inside else "does not hold" if outside else "inconclusive"
    return row


def _concentration(results: pd.DataFrame, labels: dict[str, str], ref: str, alpha: float) -> list[dict]:
    entropy = [label for label, name in labels.items() if name == "entropy"]
    if not entropy:
        return [_row("v", ref, "entropy metric not in this run")]
    rows = []
    for label in entropy:
        values = _series(results, ref, "ia-vit", label).dropna()
        threshold = pd.Series(UNIFORM_THRESHOLD, index=values.index, dtype=float)
        rows.append(_oriented("v", ref, f"{ref}/ia-vit {label} vs {UNIFORM_THRESHOLD:g} (1 = uniform)",
                              paired_effect(values, threshold), -1))
    _decide(rows, alpha, RULE)  # for the Holm p-values; the status is the interval's, below
    for row in rows:
        if row["unit"]:
            row["status"] = "holds" if row["ci_low"] > 0 else "does not hold" if row["ci_high"] < 0 else "inconclusive"
    for label in [label for label, name in labels.items() if name == "foreground-mass"]:
        values = _series(results, ref, "ia-vit", label).dropna()
        if values.empty:
            continue
        effect = paired_effect(values, pd.Series(0.0, index=values.index))
        control = _series(results, ref, "random", label).dropna()
        beside = f"beside {ref}/random {control.mean():.3g}" if len(control) else "(no random control in this run)"
        rows.append(_row("v", ref, f"{ref}/ia-vit {label} {effect['effect']:.3g} {beside} (1 = chance)", "info",
                         effect=effect["effect"], ci_low=effect["ci_low"], ci_high=effect["ci_high"],
                         unit=effect["unit"], n=effect["n"]))
    return rows


def verdict(results: pd.DataFrame, metrics_info: dict, models_info: dict, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per claim check (COLUMNS), claims in order i..v; empty when the run has no reference IA-ViT."""
    labels = {label: info.get("name", label) for label, info in metrics_info.items() if label in set(results.metric)}
    faith = {label: metrics_info[label].get("direction") == "lower" for label, name in labels.items()
             if name in FAITHFULNESS}
    references, ablations = variants(models_info, set(results.model))
    rows: list[dict] = []
    for ref, base in references:
        interpreter = (ref, "ia-vit")
        rows += _claim(results, "i", ref, [(interpreter, (ref, "random"))], faith, alpha, RULE)
        rows += _claim(results, "ii", ref, [(interpreter, (ref, "attention")), (interpreter, (ref, "rollout"))],
                       faith, alpha, RULE)
        rows += [_accuracy(results, labels, models_info, ref, base)]
        rows += _concentration(results, labels, ref, alpha)
    for ablation, base in ablations:
        rows += _claim(results, "iv", ablation, [((ablation, "ia-vit"), (base, "ia-vit"))], faith, alpha, ABLATION)
    if references and not ablations:
        rows.append(_row("iv", "", "no ablation variant in this run"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("claim", key=lambda c: c.map(list(QUESTIONS).index), kind="stable", ignore_index=True)
