"""The verdict's model-level claims: (iii) accuracy within a margin (TOST) and (v) a concentrated map."""

from __future__ import annotations

import math

import pandas as pd

from ...config import VerdictConfig
from ...stats import MIN_SEEDS, SHARES, crossed_shares, paired_differences, paired_effect
from ...store import MODEL_LEVEL
from .rows import RULE, Levels, compared, decide, row, series

UNIFORM_THRESHOLD = 0.9  # "far from uniform" = at least 10% below the maximum normalised entropy (1 = uniform)


def _test_accuracy(models_info: dict, name: str) -> dict:
    return {s: v["test_acc"] for s, v in (models_info.get(name, {}).get("seeds") or {}).items()
            if isinstance(v, dict) and v.get("test_acc") is not None}


def _correct(correctness: dict[str, pd.Series], ref: str, base: str) -> tuple[pd.Series, pd.Series] | None:
    """Both models' per-image correctness on the (seed, test image) pairs both were evaluated on, or None."""
    if ref not in correctness or base not in correctness:
        return None
    a, b = correctness[ref], correctness[base]
    common = a.index.intersection(b.index)
    return (a.loc[common], b.loc[common]) if len(common) else None


def accuracy_row(results: pd.DataFrame, labels: dict[str, str], models_info: dict, ref: str, base: str,
                 settings: VerdictConfig, correctness: dict[str, pd.Series] | None = None) -> dict:
    """(iii): accuracy of ``ref`` minus ``base``'s; holds when TOST at ±delta_accuracy rejects (the 90% interval
    lies inside the margin), does not hold when the 95% interval lies entirely beyond it. The accuracy: per seed
    (models.json) with >= MIN_SEEDS common seeds; else per test image (``correctness``, the whole test split as
    evaluated), paired image by image; else the ``accuracy`` metric on the explained images (runs before
    per-image correctness was stored)."""
    accuracy = [_test_accuracy(models_info, name) for name in (ref, base)]
    common = sorted(set(accuracy[0]) & set(accuracy[1]), key=str)
    per_image = [label for label, name in labels.items() if name == "accuracy"]
    images = [series(results, name, MODEL_LEVEL, per_image[0]) for name in (ref, base)] if per_image else []
    whole = _correct(correctness or {}, ref, base)
    if len(common) >= MIN_SEEDS:
        index = pd.MultiIndex.from_tuples([(s, 0) for s in common])
        a, b = (pd.Series([acc[s] for s in common], index=index, dtype=float) for acc in accuracy)
        count = (models_info[ref]["seeds"][common[0]] or {}).get("test_images")
        source = f"{ref} vs {base}: test accuracy per seed (models.json{f', {count:.0f} images' if count else ''})"
    elif whole is not None:
        a, b = whole
        seeds = a.index.get_level_values(0).nunique()
        source = (f"{ref} vs {base}: per-image correctness on the {len(a) // seeds:,} test images"
                  + (f" of each of {seeds} seeds" if seeds > 1 else ""))
    elif per_image:
        a, b = images
        source = f"{ref} vs {base}: {per_image[0]} on the evaluated images"
    else:
        return row("iii", ref, f"no test accuracy of {ref} and {base} (models.json or an accuracy metric)")
    margin = settings.delta_accuracy
    out = compared("iii", ref, source, a, b, 1, Levels(margin, settings.alpha),
                   protocol=f"accuracy, margin ±{margin:g}")
    if out["unit"]:
        inside = out["tost_p_holm"] < settings.alpha  # one test: no adjustment
        beyond = out["ci_high"] < -margin or out["ci_low"] > margin
        out["status"] = "holds" if inside else "does not hold" if beyond else "inconclusive"
        if out["unit"] == "seed" and images:  # where the uncertainty comes from, on the per-image correctness
            unit, _, paired = paired_differences(*images)
            shares = crossed_shares(paired) if unit == "seed" else {}
            out.update({k: shares.get(k, math.nan) for k in SHARES})
    return out


def concentration_rows(results: pd.DataFrame, labels: dict[str, str], ref: str, alpha: float) -> list[dict]:
    """(v): mean normalised entropy of ``ref``'s interpreter below UNIFORM_THRESHOLD (95% interval); an info row
    with its foreground-mass ratio beside the random control's."""
    entropy = [label for label, name in labels.items() if name == "entropy"]
    if not entropy:
        return [row("v", ref, "entropy metric not in this run")]
    rows = []
    for label in entropy:
        values = series(results, ref, "ia-vit", label).dropna()
        threshold = pd.Series(UNIFORM_THRESHOLD, index=values.index, dtype=float)
        rows.append(compared("v", ref, f"{ref}/ia-vit {label} vs {UNIFORM_THRESHOLD:g} (1 = uniform)", values,
                             threshold, -1, Levels(math.nan, alpha), protocol=label))
    decide(rows, alpha, RULE, iut=False)  # for the Holm p-values; the status is the interval's, below
    for r in rows:
        r["mde_holm"] = math.nan  # decided by its own interval, not after Holm
        if r["unit"]:
            r["status"] = "holds" if r["ci_low"] > 0 else "does not hold" if r["ci_high"] < 0 else "inconclusive"
    for label in [label for label, name in labels.items() if name == "foreground-mass"]:
        values = series(results, ref, "ia-vit", label).dropna()
        if values.empty:
            continue
        effect = paired_effect(values, pd.Series(0.0, index=values.index))
        control = series(results, ref, "random", label).dropna()
        beside = f"beside {ref}/random {control.mean():.3g}" if len(control) else "(no random control in this run)"
        rows.append(row("v", ref, f"{ref}/ia-vit {label} {effect['effect']:.3g} {beside} (1 = chance)", "info",
                        effect=effect["effect"], ci_low=effect["ci_low"], ci_high=effect["ci_high"],
                        unit=effect["unit"], n=effect["n"], protocol=label))
    return rows
