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


def _detail(row) -> str:
    if row.claim == "v":  # the entropy itself reads better than its distance to the threshold
        shown = (f"mean entropy {_num(UNIFORM_THRESHOLD - row.effect, '.3g')} "
                 f"[{_num(UNIFORM_THRESHOLD - row.ci_high, '.3g')}, {_num(UNIFORM_THRESHOLD - row.ci_low, '.3g')}]")
    else:
        shown = f"effect {_num(row.effect)} [{_num(row.ci_low)}, {_num(row.ci_high)}]"
    mde = f", detectable at 80% power: {_num(row.mde, '.2g')}" if row.status in ("inconclusive",
                                                                                "no detectable effect") else ""
    return f"{shown}, p = {_p(row.p_value)}, unit: {row.unit}, n = {row.n}{mde}"


def _short(protocol: str) -> str:
    """'deletion, zeros, pixel unit' -> 'deletion/zeros/pixel'."""
    return protocol.replace(" unit", "").replace(", ", "/")


def _comparator(row) -> str:
    """The explainer a (i)/(ii) row compares the interpreter with ('random-patch')."""
    return row.comparison.split(" vs ", 1)[-1].split("/", 1)[-1].rsplit(" on ", 1)[0]


def _label(row) -> str:
    """What a row is about: its protocol, and the control it is compared with ((i), (ii))."""
    if row.claim in ("iii", "v") or not row.protocol:
        return row.comparison.split()[1] if row.claim == "v" else row.comparison
    if row.claim == "iv":
        return _short(row.protocol)
    return f"{_short(row.protocol)} vs {_comparator(row)}"


def _protocols(members: list, every: set[str]) -> str:
    """The rows' protocols, grouped by the explainer compared with: 'vs random-patch: every protocol; vs
    attention: deletion/zeros/pixel, ...' ((iv): the protocols alone)."""
    if members[0].claim == "iv":
        return ", ".join(_label(r) for r in members)
    groups: dict[str, list[str]] = {}
    for r in members:
        groups.setdefault(_comparator(r), []).append(_short(r.protocol))
    return "; ".join(f"vs {name}: " + ("every protocol" if set(listed) == every and len(every) > 1
                                       else ", ".join(listed)) for name, listed in groups.items())


def _variance(rows: list) -> str:
    """The median shares of the effect's variance (seed-unit rows), when any row has them."""
    shares = pd.DataFrame([[getattr(r, k) for k in SHARES] for r in rows], columns=list(SHARES)).dropna()
    if shares.empty:
        return ""
    seed, image, rest = (shares[k].mean() * 100 for k in SHARES)
    more = "training seeds" if seed > image else "test images"
    return (f" Variance of the effect (mean over its {len(shares)} seed-unit rows): training seeds {seed:.0f}%, "
            f"images {image:.0f}%, seed x image {rest:.0f}%; more {more} would narrow it most.")


def _reference_only(rows: list) -> str:
    """How the claim reads against a control of another resolution ("info" rows), in one sentence."""
    if not rows:
        return ""
    worse = [r for r in rows if r.effect < 0]
    kind = rows[0].control.split(":")[0].removeprefix("not matched ").strip("()")
    if not worse:
        return f" Against a control of another resolution ({kind}) it reads better on all {len(rows)} rows too."
    return (f" For reference, against a control of another resolution ({kind}) it would read worse on {len(worse)} "
            f"of {len(rows)} rows" + (f" ({_protocols(worse, set())})" if worse else "") +
            ": a protocol effect, not counted.")


ORDER = ("holds", "improves", "worsens", "does not hold", EQUIVALENT, "inconclusive", "no detectable effect")


def _grouped(decided: list) -> list[str]:
    """One part per status: how many rows, which, and the numbers where they matter (against the claim: each
    row's effect; inconclusive: the effects the rows could have detected)."""
    parts, every = [], {_short(r.protocol) for r in decided}
    for status in sorted({r.status for r in decided}, key=ORDER.index):
        members = [r for r in decided if r.status == status]
        if status in ("does not hold", "worsens", "improves"):
            listed = "; ".join(f"{_label(r)} ({_detail(r)})" for r in members)
        else:
            listed = _protocols(members, every)
        mdes = [r.mde for r in members if pd.notna(r.mde)] if status in ("inconclusive", "no detectable effect") else []
        low, high = (_num(min(mdes), ".2g"), _num(max(mdes), ".2g")) if mdes else ("", "")
        power = f", detectable at 80% power: {low}" + (f" to {high}" if high != low else "") if mdes else ""
        parts.append(f"{status} under {len(members)} of {len(decided)} ({listed}){power}")
    return parts


def _sentence(claim: str, model: str, rows: pd.DataFrame, models_info: dict, settings: VerdictConfig) -> str:
    decided = list(rows[~rows.status.isin(["info"]) & (rows.unit != "")].itertuples())
    missing = [f"not checked: {text}" for text in rows.comparison[rows.unit == ""]]
    info = [r for r in rows.itertuples() if r.status == "info" and r.claim in ("i", "ii")]
    if claim == "iv" and not model:
        return f"{rows.comparison.iloc[0].capitalize()}."
    status = overall(rows.status)
    if claim == "iii" and decided:
        r = decided[0]
        more = " (IA-ViT more accurate)" if r.ci_low > settings.delta_accuracy else ""
        return (f"{status.capitalize()}{more} for {model}: {r.comparison}, difference {r.effect * 100:+.2f} points, "
                f"90% interval [{r.ci90_low * 100:+.2f}, {r.ci90_high * 100:+.2f}] against the margin "
                f"±{settings.delta_accuracy * 100:g} point (TOST p = {_p(r.tost_p_holm)}), 95% interval "
                f"[{r.ci_low * 100:+.2f}, {r.ci_high * 100:+.2f}], p = {_p(r.p_value)}, unit: {r.unit}, n = {r.n}"
                + (f", detectable at 80% power: {r.mde * 100:.2g} points" if status == "inconclusive" else "") + "."
                + _variance(decided))
    if claim not in ("iv", "v") and decided and not missing and status == "holds":
        weakest = max(decided, key=lambda r: r.p_value)
        parts = [f"all {len(decided)} comparisons hold (intersection-union p = {_p(weakest.p_value)}; weakest: "
                 f"{_label(weakest)}, {_detail(weakest)})" if len(decided) > 1 else
                 f"{_label(weakest)}, {_detail(weakest)}"]
    elif claim == "v":
        parts = [f"{r.status} on {_label(r)} ({_detail(r)})" for r in decided]
    else:
        parts = _grouped(decided)
    parts += missing + [f"foreground mass: {text}" for text in rows.comparison[(rows.status == "info") &
                                                                                (rows.claim == "v")]]
    described = models_info.get(model, {})
    head = (f"{model} ({described.get('description') or 'no description'}) vs {described.get('baseline', '?')}"
            if claim == "iv" else f"{status.capitalize()} for {model}")
    return f"{head}: {'; '.join(parts)}." + _variance(decided) + _reference_only(info)


def verdict_paragraphs(frame: pd.DataFrame, models_info: dict | None = None,
                       settings: VerdictConfig | None = None) -> list[str]:
    """One paragraph per claim: its question, then one sentence per model written from the rows."""
    s = settings or VerdictConfig()
    lead = (f"Each claim checked by rules in code (iabench/reporting/verdict.py) at alpha = {s.alpha:g}. effect > 0 = "
            "the claim's side is better; [95% t-interval of the mean difference]; unit seed = across training seeds "
            "(>= 3), image = across test images (blind to training variance). Each row is one protocol (metric, "
            f"substrate, unit). \"{EQUIVALENT}\": the 90% interval lies inside ±δ (TOST; δ = {s.delta:g} AUC, "
            f"{s.delta_accuracy * 100:g} accuracy point), Holm-corrected within the claim. (i) and (ii) hold only when "
            "every row holds (an intersection-union test, Berger 1982: unadjusted p, the claim's p is the largest); "
            "their \"does not hold\" is Holm-corrected within the claim for that model; (iv) is Holm-corrected "
            "across all ablations together. (i) compares with controls of the interpreter's own resolution; rows "
            "against a control of another resolution are shown for reference and never decide.")
    paragraphs = [lead]
    for claim, part in frame.groupby("claim", sort=False):
        sentences = [_sentence(claim, model, rows, models_info or {}, s)
                     for model, rows in part.groupby("model", sort=False)]
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
