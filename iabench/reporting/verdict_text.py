"""The verdict as text: one paragraph per claim written from the verdict rows, and the table of all rows, in
markdown (verdict.md, report.md; report.html renders the same markdown). The rules themselves are in ``verdict``."""

from __future__ import annotations

import pandas as pd

from .markdown import markdown_table
from .verdict import MARGIN, QUESTIONS, UNIFORM_THRESHOLD


def overall(statuses: pd.Series) -> str:
    """A claim's status for one model from its rows ("info" rows aside): holds when every row holds, does not
    hold when any row does not, else inconclusive."""
    statuses = [s for s in statuses if s != "info"]
    if statuses and all(s == "holds" for s in statuses):
        return "holds"
    return "does not hold" if "does not hold" in statuses else "inconclusive"


def _num(value: float, spec: str = "+.3g") -> str:
    return "" if pd.isna(value) else format(round(float(value), 9) + 0.0, spec)  # no "-3e-17" from float rounding


def _p(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2g}"  # not rounded: a p of 1e-12 must not read 0


def _detail(row) -> str:
    if row.claim == "v":  # the entropy itself reads better than its distance to the threshold
        shown = f"mean entropy {_num(UNIFORM_THRESHOLD - row.effect, '.3g')} " \
                f"[{_num(UNIFORM_THRESHOLD - row.ci_high, '.3g')}, {_num(UNIFORM_THRESHOLD - row.ci_low, '.3g')}]"
    else:
        shown = f"effect {_num(row.effect)} [{_num(row.ci_low)}, {_num(row.ci_high)}]"
    return f"{shown}, p = {_p(row.p_value)}, unit: {row.unit}, n = {row.n}"


def _label(row) -> str:
    """What a row is about: the compared side ("ia-vit/random on deletion"), the metric for (iv) and (v)."""
    if row.claim == "v":
        return row.comparison.split()[1]
    side = row.comparison.split(" vs ", 1)[-1]
    return side.rsplit(" on ", 1)[-1] if row.claim == "iv" else side


def _sentence(claim: str, model: str, rows: pd.DataFrame, models_info: dict) -> str:
    tested = list(rows[(rows.status != "info") & (rows.unit != "")].itertuples())
    missing = [f"not checked: {text}" for text in rows.comparison[rows.unit == ""]]
    if claim == "iv" and not model:
        return f"{rows.comparison.iloc[0].capitalize()}."
    status = overall(rows.status)
    if claim == "iii" and tested:
        row = tested[0]
        more = " (IA-ViT more accurate)" if row.ci_low > MARGIN else ""
        return (f"{status.capitalize()}{more} for {model}: {row.comparison}, difference {row.effect * 100:+.2f} "
                f"points [{row.ci_low * 100:+.2f}, {row.ci_high * 100:+.2f}] (margin +-{MARGIN * 100:g} point), "
                f"p = {_p(row.p_value)}, unit: {row.unit}, n = {row.n}.")
    quiet = "no detectable effect" if claim == "iv" else "holds"  # rows named without their numbers
    if claim != "iv" and tested and not missing and status == "holds":
        weakest = max(tested, key=lambda r: r.p_value)
        parts = [f"all {len(tested)} comparisons hold (weakest: {_label(weakest)}, {_detail(weakest)})"
                 if len(tested) > 1 else f"{_label(weakest)}, {_detail(weakest)}"]
    else:
        named = [_label(r) for r in tested if r.status == quiet]
        parts = [f"{r.status}{'' if claim == 'iv' else ' on'} {_label(r)} ({_detail(r)})" for r in tested
                 if r.status != quiet] + ([f"{quiet} on {', '.join(named)}"] if named else [])
    parts += missing + [f"foreground mass: {text}" for text in rows.comparison[rows.status == "info"]]
    info = models_info.get(model, {})
    head = (f"{model} ({info.get('description') or 'no description'}) vs {info.get('baseline', '?')}"
            if claim == "iv" else f"{status.capitalize()} for {model}")
    return f"{head}: {'; '.join(parts)}."


def verdict_paragraphs(frame: pd.DataFrame, models_info: dict | None = None) -> list[str]:
    """One paragraph per claim: its question, then one sentence per model written from the rows."""
    lead = ("Each claim checked by rules in code (iabench/reporting/verdict.py). effect > 0 = the claim's side is "
            "better; [95% interval]; p Holm-adjusted within the claim for that model; unit seed = across training "
            "seeds (>= 3), image = across test images (fewer seeds: blind to training variance).")
    paragraphs = [lead]
    for claim, part in frame.groupby("claim", sort=False):
        sentences = [_sentence(claim, model, rows, models_info or {})
                     for model, rows in part.groupby("model", sort=False)]
        paragraphs.append(f"**Claim ({claim})**: {QUESTIONS[claim]} " + " ".join(sentences))
    return paragraphs


def verdict_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as text, the question left to the paragraphs (it repeats on every row)."""
    return pd.DataFrame({
        "claim": frame.claim, "model": frame.model, "comparison": frame.comparison, "status": frame.status,
        "effect [95% CI]": [f"{_num(e)} [{_num(lo)}, {_num(hi)}]" if pd.notna(e) else ""
                            for e, lo, hi in zip(frame.effect, frame.ci_low, frame.ci_high)],
        "p": frame.p_value.map(_p), "unit": frame.unit, "n": frame.n})


def verdict_markdown(frame: pd.DataFrame, models_info: dict | None = None) -> str:
    """The verdict as markdown: one paragraph per claim, then a table of all rows."""
    return "\n\n".join(verdict_paragraphs(frame, models_info) + [markdown_table(verdict_table(frame))]) + "\n"
