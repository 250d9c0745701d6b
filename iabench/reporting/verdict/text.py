"""The verdict as text: one paragraph per claim written from the verdict rows, and the table of all rows, in
markdown (verdict.md, report.md; report.html renders the same markdown). The rules themselves are in ``verdict``."""

from __future__ import annotations

import pandas as pd

from ...config import VerdictConfig
from ...stats import SHARES
from ..markdown import markdown_table
from .claims import UNIFORM_THRESHOLD
from .rows import EQUIVALENT
from .rules import QUESTIONS
from .words import comparator, counted, detectable_text, effect_text, names, num, of, p_text, settle, short, span

DECIDED_AGAINST = ("does not hold", EQUIVALENT)


def overall(statuses: pd.Series) -> str:
    """A claim's status for one model from its rows ("info" rows aside): holds when every row holds, does not
    hold when any row does not or shows no effect larger than δ, else inconclusive."""
    statuses = [s for s in statuses if s != "info"]
    if statuses and all(s == "holds" for s in statuses):
        return "holds"
    return "does not hold" if any(s in DECIDED_AGAINST for s in statuses) else "inconclusive"


def _against_maps(model: str, rows: list, missing: list[str], settings: VerdictConfig) -> str:
    """(i) and (ii): one sentence from the rows of one model."""
    n = len(rows)
    better = [r for r in rows if r.status == "holds"]
    worse = [r for r in rows if r.status == "does not hold"]
    same = [r for r in rows if r.status == EQUIVALENT]
    unchecked = f" (not checked: {'; '.join(missing)})" if missing else ""
    if len(better) == n and not missing:
        closest = max(rows, key=lambda r: r.p_value)
        return (f"Holds for {model}: better than {names(rows)} under all {counted(rows)}; the closest, "
                f"{short(closest.protocol)} vs {comparator(closest)}: {effect_text(closest)}.")
    if worse:
        worst = min(worse, key=lambda r: r.effect)
        verb = "is" if len(set(map(comparator, worse))) == 1 else "are"
        where = f" ({', '.join(short(r.protocol) for r in better)})" if len(better) <= 3 else ""
        also = f", while it is better than {names(better)} under {len(better)}{where}" if better else ""
        return (f"Does not hold for {model}: {names(worse)} {verb} better under {of(len(worse), rows)}, by up "
                f"to {num(-worst.effect, '.3g')} ({short(worst.protocol)} vs {comparator(worst)}: "
                f"{effect_text(worst)}){also}{unchecked}.")
    if same:
        largest = max(same, key=lambda r: abs(r.effect))
        return (f"Does not hold for {model}: under {of(len(same), rows)} it differs from {names(same)} by less "
                f"than δ = {settings.delta:g} (largest: {short(largest.protocol)} vs {comparator(largest)}: "
                f"{effect_text(largest)}){unchecked}.")
    open_rows = [r for r in rows if r.status == "inconclusive"]
    if not open_rows:  # every row decided in its favour, but a check could not be made
        return f"Inconclusive for {model}: better under all {counted(rows)}{unchecked}."
    return (f"Inconclusive for {model}: better under {of(len(better), rows)} and worse under none; the other "
            f"{len(open_rows)}{detectable_text(open_rows)}, and {settle(open_rows)}{unchecked}.")


def _accuracy(model: str, r, status: str, settings: VerdictConfig) -> str:
    """(iii): the accuracy difference against the margin."""
    more = " (IA-ViT more accurate)" if r.ci_low > settings.delta_accuracy else ""
    rest = f"; {settle([r])}" if status == "inconclusive" else ""
    if "per-image correctness" in r.comparison:  # the whole test split, paired image by image
        basis = (f" on {r.comparison.split(' on ', 1)[1]} (n = {r.n:,} image pairs: a statement about these trained "
                 "models, not across training runs)")
    else:
        basis = f" on the {r.n} evaluated images" if "evaluated images" in r.comparison else f" over {r.n} seeds"
    return (f"{status.capitalize()}{more} for {model}: {r.effect * 100:+.2f} points against its plain ViT{basis}, 90% "
            f"interval [{r.ci90_low * 100:+.2f}, {r.ci90_high * 100:+.2f}] against the "
            f"±{settings.delta_accuracy * 100:g} point margin (TOST p = {p_text(r.tost_p_holm)}){rest}.")


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
                     f"{short(first.protocol)} by {effect_text(first)}" + (
                         f" and {len(moved) - 1} more of {len(own)} protocols" if len(moved) > 1 else ""))
    if quiet:
        after = [r.mde_holm for r in decided if r.model in quiet and pd.notna(r.mde_holm)]
        could = (f" (after Holm over all {len(decided)} ablation rows, effects of {span(after)} only were detectable)"
                 if after else "")
        parts.append(f"{', '.join(quiet)} change{'s' if len(quiet) == 1 else ''} no protocol detectably{could}")
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
                f"{num(UNIFORM_THRESHOLD - r.effect, '.3g')} [{num(UNIFORM_THRESHOLD - r.ci_high, '.3g')}, "
                f"{num(UNIFORM_THRESHOLD - r.ci_low, '.3g')}] (below {UNIFORM_THRESHOLD:g} is concentrated, "
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
        "effect [95% CI]": [f"{num(e)} [{num(lo)}, {num(hi)}]" if pd.notna(e) else ""
                            for e, lo, hi in zip(frame.effect, frame.ci_low, frame.ci_high)],
        "p": frame.p_value.map(p_text), "p (Holm)": frame.p_holm.map(p_text),
        "TOST p (Holm)": frame.tost_p_holm.map(p_text), "MDE": frame.mde.map(lambda v: num(v, ".2g")),
        "MDE (Holm)": frame.mde_holm.map(lambda v: num(v, ".2g")), "unit": frame.unit, "n": frame.n,
        "seed / image / rest": [f"{a * 100:.0f} / {b * 100:.0f} / {c * 100:.0f} %" if pd.notna(a) else ""
                                for a, b, c in zip(*(frame[k] for k in SHARES))]})


def verdict_markdown(frame: pd.DataFrame, models_info: dict | None = None,
                     settings: VerdictConfig | None = None) -> str:
    """The verdict as markdown: one paragraph per claim, then a table of all rows."""
    return "\n\n".join(verdict_paragraphs(frame, models_info, settings) + [markdown_table(verdict_table(frame))]) + "\n"
