"""The verdict as text: one paragraph per claim written from the verdict rows, and the table of all rows, in
markdown (verdict.md, report.md; report.html renders the same markdown). The rules themselves are in ``verdict``."""

from __future__ import annotations

import pandas as pd

from ..config import VerdictConfig
from .markdown import markdown_table
from .variance import SHARES
from .verdict import QUESTIONS
from .verdict_claims import UNIFORM_THRESHOLD
from .verdict_rows import EQUIVALENT

DECIDED_AGAINST = ("does not hold", EQUIVALENT)


def overall(statuses: pd.Series) -> str:
    """A claim's status for one model from its rows ("info" rows aside): holds when every row holds, does not
    hold when any row does not or shows no effect larger than δ, else inconclusive."""
    statuses = [s for s in statuses if s != "info"]
    if statuses and all(s == "holds" for s in statuses):
        return "holds"
    return "does not hold" if any(s in DECIDED_AGAINST for s in statuses) else "inconclusive"


def _num(value: float, spec: str = "+.3g") -> str:
    return "" if pd.isna(value) else format(round(float(value), 9) + 0.0, spec)  # no "-3e-17" from float rounding


def _p(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2g}"  # not rounded: a p of 1e-12 must not read 0


def _effect(row) -> str:
    return f"{_num(row.effect)} [{_num(row.ci_low)}, {_num(row.ci_high)}]"


def _short(protocol: str) -> str:
    """'deletion, zeros, pixel unit' -> 'deletion/zeros/pixel'."""
    return protocol.replace(" unit", "").replace(", ", "/")


def _comparator(row) -> str:
    """The explainer a (i)/(ii) row compares the interpreter with ('random-patch')."""
    return row.comparison.split(" vs ", 1)[-1].split("/", 1)[-1].rsplit(" on ", 1)[0]


def _names(rows: list) -> str:
    return " and ".join(dict.fromkeys(_comparator(r) for r in rows))


def _settle(rows: list) -> str:
    """What would settle an open question: more training seeds or more images, from the shares of the effect's
    variance (seed-unit rows); 3 or more seeds when the effects were measured across images only."""
    shares = pd.DataFrame([[getattr(r, k) for k in SHARES] for r in rows], columns=list(SHARES)).dropna()
    if shares.empty:
        return "training 3 or more seeds (and more images) would settle it"
    seed, image = shares[SHARES[0]].mean(), shares[SHARES[1]].mean()
    return (f"more {'training seeds' if seed >= image else 'test images'} would settle it (their share of the "
            f"effect's variance: {max(seed, image) * 100:.0f}%)")


def _power(rows: list) -> str:
    mdes = [r.mde for r in rows if pd.notna(r.mde)]
    if not mdes:
        return ""
    low, high = _num(min(mdes), ".2g"), _num(max(mdes), ".2g")
    return f" could detect effects of {low}" + (f" to {high}" if high != low else "")


def _against_maps(model: str, rows: list, missing: list[str], settings: VerdictConfig) -> str:
    """(i) and (ii): one sentence from the rows of one model."""
    n = len(rows)
    better = [r for r in rows if r.status == "holds"]
    worse = [r for r in rows if r.status == "does not hold"]
    same = [r for r in rows if r.status == EQUIVALENT]
    unchecked = f" (not checked: {'; '.join(missing)})" if missing else ""
    if len(better) == n and not missing:
        closest = max(rows, key=lambda r: r.p_value)
        return (f"Holds for {model}: better than {_names(rows)} under all {n} protocols; the closest, "
                f"{_short(closest.protocol)} vs {_comparator(closest)}: {_effect(closest)}.")
    if worse:
        worst = min(worse, key=lambda r: r.effect)
        verb = "is" if len(set(map(_comparator, worse))) == 1 else "are"
        where = f" ({', '.join(_short(r.protocol) for r in better)})" if len(better) <= 3 else ""
        also = f", while it is better than {_names(better)} under {len(better)}{where}" if better else ""
        return (f"Does not hold for {model}: {_names(worse)} {verb} better under {len(worse)} of {n} protocols, by up "
                f"to {_num(-worst.effect, '.3g')} ({_short(worst.protocol)} vs {_comparator(worst)}: "
                f"{_effect(worst)}){also}{unchecked}.")
    if same:
        largest = max(same, key=lambda r: abs(r.effect))
        return (f"Does not hold for {model}: under {len(same)} of {n} protocols it differs from {_names(same)} by less "
                f"than δ = {settings.delta:g} (largest: {_short(largest.protocol)} vs {_comparator(largest)}: "
                f"{_effect(largest)}){unchecked}.")
    open_rows = [r for r in rows if r.status == "inconclusive"]
    return (f"Inconclusive for {model}: better under {len(better)} of {n} protocols and worse under none; the other "
            f"{len(open_rows)}{_power(open_rows)}, and {_settle(open_rows)}{unchecked}.")


def _accuracy(model: str, r, status: str, settings: VerdictConfig) -> str:
    """(iii): the accuracy difference against the margin."""
    more = " (IA-ViT more accurate)" if r.ci_low > settings.delta_accuracy else ""
    rest = f"; {_settle([r])}" if status == "inconclusive" else ""
    basis = f" on the {r.n} evaluated images" if "evaluated images" in r.comparison else f" over {r.n} seeds"
    return (f"{status.capitalize()}{more} for {model}: {r.effect * 100:+.2f} points against its plain ViT{basis}, 90% "
            f"interval [{r.ci90_low * 100:+.2f}, {r.ci90_high * 100:+.2f}] against the "
            f"±{settings.delta_accuracy * 100:g} point margin (TOST p = {_p(r.tost_p_holm)}){rest}.")


def _ablations(rows: pd.DataFrame, models_info: dict) -> str:
    """(iv): one sentence over every ablation: what each changes, and which change nothing detectable."""
    decided = list(rows[rows.unit != ""].itertuples())
    if not decided:
        return f"{rows.comparison.iloc[0].capitalize()}."
    parts, quiet = [], []
    for model in dict.fromkeys(r.model for r in decided):
        own = [r for r in decided if r.model == model]
        moved = sorted((r for r in own if r.status in ("improves", "worsens")), key=lambda r: -abs(r.effect))
        if not moved:
            quiet.append(model)
            continue
        first = moved[0]
        parts.append(f"{model} ({models_info.get(model, {}).get('description') or 'no description'}) {first.status} "
                     f"{_short(first.protocol)} by {_effect(first)}" + (
                         f" and {len(moved) - 1} more of {len(own)} protocols" if len(moved) > 1 else ""))
    if quiet:
        parts.append(f"{', '.join(quiet)} change{'s' if len(quiet) == 1 else ''} no protocol detectably")
    return "Ablations, each against the IA-ViT of its own recipe: " + "; ".join(parts) + "."


def _sentence(claim: str, model: str, rows: pd.DataFrame, settings: VerdictConfig) -> str:
    decided = list(rows[~rows.status.isin(["info"]) & (rows.unit != "")].itertuples())
    missing = list(rows.comparison[rows.unit == ""])
    status = overall(rows.status)
    if not decided:
        return f"Not checked for {model}: {'; '.join(missing)}."
    if claim == "iii":
        return _accuracy(model, decided[0], status, settings)
    if claim == "v":
        r = decided[0]
        return (f"{status.capitalize()} for {model}: mean normalised entropy "
                f"{_num(UNIFORM_THRESHOLD - r.effect, '.3g')} [{_num(UNIFORM_THRESHOLD - r.ci_high, '.3g')}, "
                f"{_num(UNIFORM_THRESHOLD - r.ci_low, '.3g')}] (below {UNIFORM_THRESHOLD:g} is concentrated, "
                "1 uniform).")
    return _against_maps(model, decided, missing, settings)


def verdict_paragraphs(frame: pd.DataFrame, models_info: dict | None = None,
                       settings: VerdictConfig | None = None) -> list[str]:
    """A short lead, then one paragraph per claim: its question and one plain sentence per model (status, the
    comparison that decides it, what would settle it); every comparison is a row of ``verdict_table``."""
    s = settings or VerdictConfig()
    lead = (f"Each claim is decided by rules in code at α = {s.alpha:g}, with δ = {s.delta:g} AUC and "
            f"{s.delta_accuracy * 100:g} accuracy point as the smallest effects worth a claim; effect > 0 means the "
            "claim's side is better, [its 95% interval]. A protocol is one metric under one substrate and unit; (i) "
            "compares with random maps of the interpreter's own resolution only. Every comparison, with its p-values "
            "and unit (training seeds, or images), is a row of the table below.")
    paragraphs = [lead]
    for claim, part in frame.groupby("claim", sort=False):
        if claim == "iv":
            sentences = [_ablations(part, models_info or {})]
        else:
            sentences = [_sentence(claim, model, rows, s) for model, rows in part.groupby("model", sort=False)]
        paragraphs.append(f"**Claim ({claim})**: {QUESTIONS[claim]} " + " ".join(sentences))
    return paragraphs


def verdict_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as text, the question left to the paragraphs (it repeats on every row)."""
    return pd.DataFrame({
        "claim": frame.claim, "model": frame.model, "comparison": frame.comparison, "protocol": frame.protocol,
        "control": frame.control, "status": frame.status,
        "effect [95% CI]": [f"{_num(e)} [{_num(lo)}, {_num(hi)}]" if pd.notna(e) else ""
                            for e, lo, hi in zip(frame.effect, frame.ci_low, frame.ci_high)],
        "p": frame.p_value.map(_p), "p (Holm)": frame.p_holm.map(_p), "TOST p (Holm)": frame.tost_p_holm.map(_p),
        "MDE": frame.mde.map(lambda v: _num(v, ".2g")), "unit": frame.unit, "n": frame.n,
        "seed / image / rest": [f"{a * 100:.0f} / {b * 100:.0f} / {c * 100:.0f} %" if pd.notna(a) else ""
                                for a, b, c in zip(*(frame[k] for k in SHARES))]})


def verdict_markdown(frame: pd.DataFrame, models_info: dict | None = None,
                     settings: VerdictConfig | None = None) -> str:
    """The verdict as markdown: one paragraph per claim, then a table of all rows."""
    return "\n\n".join(verdict_paragraphs(frame, models_info, settings) + [markdown_table(verdict_table(frame))]) + "\n"
