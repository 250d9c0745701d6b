"""The verdict's building blocks: one row per check, its comparison, and the rule that gives its status.

See ``verdict`` for the claims and the rules in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ...records import MetricRecords
from ...stats import SHARES, crossed_shares, holm, holm_mde, mean_test, orient, paired_differences

COLUMNS = ["claim", "question", "model", "comparison", "protocol", "control", "status", "effect", "ci_low", "ci_high",
           "ci90_low", "ci90_high", "p_value", "p_holm", "tost_p_holm", "mde", "mde_holm", "unit", "n", *SHARES]
QUESTIONS = {
    "i": "Does the interpreter's explanation beat a random map of its own resolution under every protocol?",
    "ii": "Does the interpreter beat post hoc attention maps (last-layer attention, rollout) of the same model?",
    "iii": "Is IA-ViT as accurate as its plain ViT (within the accuracy margin)?",
    "iv": "What does each change of the objective (ablation) do to the interpreter's faithfulness?",
    "v": "Is the interpreter's map far from uniform (normalised entropy below 0.9)?",
    "vi": "On planted evidence, does the interpreter's map put its mass on the evidence the model uses (more than a "
          "random map of its own resolution under every ground-truth score, and more under the model that reads the "
          "motif than under the one that reads the garment)?",
    "vii": "On planted evidence, does the interpreter put more of its mass on the evidence than attention and "
           "rollout?",
}
EQUIVALENT = "no effect larger than δ"
RULE = {"better": "holds", "worse": "does not hold", "equivalent": EQUIVALENT, "undecided": "inconclusive"}
ABLATION = {"better": "improves", "worse": "worsens", "equivalent": EQUIVALENT, "undecided": "no detectable effect"}


def row(claim: str, model: str, comparison: str, status: str = "inconclusive", **values) -> dict:
    base = dict(protocol="", control="", effect=math.nan, ci_low=math.nan, ci_high=math.nan, ci90_low=math.nan,
                ci90_high=math.nan, p_value=math.nan,
                p_holm=math.nan, tost_p_holm=math.nan, mde=math.nan, mde_holm=math.nan, unit="", n=0,
                **{k: math.nan for k in SHARES})
    return dict(claim=claim, question=QUESTIONS[claim], model=model, comparison=comparison, status=status,
                **{**base, **values})


def series(results: pd.DataFrame, model: str, explainer: str, metric: str) -> pd.Series:
    part = results[(results.model == model) & (results.explainer == explainer) & (results.metric == metric)]
    return part.groupby(["seed", "sample"])["value"].first()


@dataclass(frozen=True)
class Levels:
    """A comparison's test levels: the equivalence margin ``delta`` (NaN: no equivalence test) and ``alpha``."""

    delta: float
    alpha: float


def compared(claim: str, model: str, comparison: str, a: pd.Series, b: pd.Series, sign: float, levels: Levels,
             **values) -> dict:
    """One row: ``a`` - ``b`` oriented by ``sign``, status left empty for ``decide`` (or as given in values)."""
    unit, diff, paired = paired_differences(a, b)
    if not unit:
        return row(claim, model, f"no paired scores for {comparison}")
    effect = orient(mean_test(diff, levels.delta, levels.alpha), sign)
    shares = crossed_shares(paired) if unit == "seed" else {}
    values = {"status": "", **values}
    return row(claim, model, comparison, effect=effect["effect"], ci_low=effect["ci_low"], ci_high=effect["ci_high"],
               ci90_low=effect["tost_low"], ci90_high=effect["tost_high"], p_value=effect["p_value"],
               tost_p_holm=effect["tost_p"], mde=effect["mde"], unit=unit, n=effect["n"],
               **{k: shares.get(k, math.nan) for k in SHARES}, **values)


def pair_rows(results: pd.DataFrame, claim: str, model: str, pairs: list[tuple[tuple[str, str], str, str]],
              protocols: dict[str, tuple[bool, str]], levels: Levels, absent: str = "not in this run") -> list[dict]:
    """Undecided rows of ``pairs`` ((model, explainer) a, b's explainer label on ``model``, control text; a control
    text starting with "not matched" makes "info" rows) on every protocol of ``protocols`` (label -> (lower is
    better, protocol text)); a pair missing from ``results`` is one row saying so (``absent``: why)."""
    have, rows = set(zip(results.model, results.explainer)), []
    for a, b, control in pairs:
        missing = [f"{m}/{e}" for m, e in (a, (model, b)) if (m, e) not in have]
        if missing:
            rows.append(row(claim, model, f"{' and '.join(missing)} {absent}"))
            continue
        status = "info" if control.startswith("not matched") else ""
        rows += [compared(claim, model, f"{a[0]}/{a[1]} vs {model}/{b} on {metric}", series(results, *a, metric),
                          series(results, model, b, metric), -1 if lower else 1, levels, protocol=protocol,
                          control=control, status=status)
                 for metric, (lower, protocol) in protocols.items()]
    return rows



def decide(rows: list[dict], alpha: float, names: dict[str, str], iut: bool) -> list[dict]:
    """Status of the rows still without one (see the module docstring): Holm across them for the "worse" and the
    equivalence conclusions; "better" at the unadjusted p when ``iut`` (an intersection-union claim). Each row's
    ``mde_holm`` is the effect detectable after Holm over the family (the rows with a p-value)."""
    tested = [r for r in rows if not r["status"]]
    p_holm = holm([r["p_value"] for r in tested])
    tost = holm([r["tost_p_holm"] for r in tested])
    family = sum(1 for r in tested if math.isfinite(r["p_value"]))
    for r, adjusted, equivalent in zip(tested, p_holm, tost):
        r.update(p_holm=float(adjusted), tost_p_holm=float(equivalent),
                 mde_holm=holm_mde(r["mde"], r["n"], alpha, family))
        better_p = r["p_value"] if iut else adjusted
        outcome = ("equivalent" if equivalent < alpha else "better" if better_p < alpha and r["effect"] > 0
                   else "worse" if adjusted < alpha and r["effect"] < 0 else "undecided")
        r["status"] = names[outcome]
    return rows


SUBSTRATE_ORDER = ("zeros", "blur", "black", "mean", "noise", "road")


def protocol_of(label: str, metrics_info: MetricRecords) -> str:
    """'deletion, zeros, pixel unit': a curve metric's name, substrate and unit, from metrics.json."""
    info = metrics_info.of(label)
    unit = info.unit or ("patch" if info.name in ("morf", "lerf") else "pixel")
    return f"{info.name}, {info.substrate or 'zeros'}, {unit} unit"


def protocol_key(protocol: str) -> tuple:
    """Sort key of a protocol text: metric name, then substrate in SUBSTRATE_ORDER, then pixel before patch."""
    name, substrate, unit = (protocol.split(", ") + ["", ""])[:3]
    order = SUBSTRATE_ORDER.index(substrate) if substrate in SUBSTRATE_ORDER else len(SUBSTRATE_ORDER)
    return name, order, substrate, unit != "pixel unit"
