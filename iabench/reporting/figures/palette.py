"""One look per explainer across every figure of a run, and what each explainer is (family, signed maps).

Colours are the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008) without its yellow, which is barely
visible as a thin line on white. Labels are styled in sorted order over all labels of explainers.json, so a
label looks the same in every figure of a run whatever subset a figure shows.
"""

from __future__ import annotations

from ...records import ExplainerRecord, ExplainerRecords

# Okabe-Ito, yellow (#F0E442) left out: blue, orange, bluish green, vermillion, reddish purple, sky blue, black
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
CONTROL = "control"
CONTROL_LINESTYLE = "--"
# line styles of non-controls, one per pass through the palette; "--" is kept for the controls
EXPLAINER_LINESTYLES = ("-", "-.", ":")


def _linestyle(round_: int, control: bool) -> str | tuple:
    """The line style of the ``round_``-th pass through the palette (a pass ends when the colours run out)."""
    if control:  # more controls than colours: further dash patterns, all still dashed
        return CONTROL_LINESTYLE if round_ == 0 else (0, (6, 2) + (1, 2) * round_)
    if round_ < len(EXPLAINER_LINESTYLES):
        return EXPLAINER_LINESTYLES[round_]
    return (0, (3, 1) + (1, 1) * (round_ - len(EXPLAINER_LINESTYLES) + 1))


def explainer_family(explainers_info: ExplainerRecords, label: str) -> str:
    """The family of ``label`` (attention, gradient, ..., control; 'other' when unknown)."""
    return explainers_info.of(label).family


def explainer_signed(explainers_info: ExplainerRecords, label: str) -> bool:
    """Whether the maps of ``label`` hold meaningful negative values."""
    return explainers_info.of(label).signed


def with_labels(explainers_info: ExplainerRecords, labels: object) -> dict:
    """``explainers_info`` plus an (empty) entry for each label a figure shows that it lacks."""
    return ExplainerRecords({**{str(label): ExplainerRecord(name=str(label)) for label in labels}, **explainers_info})


def family_order(families: object, explainers_info: ExplainerRecords) -> list[str]:
    """The families in the order the run recorded (explainers.json ``family_rank``: the registry's), then any
    others alphabetically."""
    rank = {r.family: r.family_rank for r in explainers_info.values()
            if r.family_rank is not None}
    return sorted(set(families), key=lambda f: (rank.get(f) is None, rank.get(f, 0), f))


def _pick(used: set, avoid: set, n_rounds: int) -> tuple[str, str | tuple]:
    """The first free (colour, line style) of a non-control, passes through the palette in order: a colour in
    ``avoid`` (its family's or the controls') only when no other is free."""
    pairs = [(colour, _linestyle(r, control=False)) for r in range(n_rounds) for colour in OKABE_ITO]
    free = [pair for pair in pairs if pair not in used]
    return next((pair for pair in free if pair[0] not in avoid), free[0])


def explainer_styles(explainers_info: ExplainerRecords) -> dict[str, dict]:
    """{label: {"color", "linestyle"}} for every label of explainers.json.

    Controls (family 'control') take the palette's colours from its end, dashed ('--'). Non-controls, in
    sorted label order, take the first free (colour, line style): solid lines first, then '-.' and ':' once
    the colours run out, avoiding the colours of the controls and of their own family's labels (they share
    a curve panel). No two labels share (colour, line style), and a label's style depends only on the set
    of labels and their families, not on the order in which explainers.json lists them."""
    labels = sorted(explainers_info)
    families = {label: explainer_family(explainers_info, label) for label in labels}
    controls = [label for label in labels if families[label] == CONTROL]
    n = len(OKABE_ITO)
    styles = {label: dict(color=OKABE_ITO[n - 1 - i % n], linestyle=_linestyle(i // n, control=True))
              for i, label in enumerate(controls)}
    used: set = set()
    control_colours = {style["color"] for style in styles.values()}
    for label in (label for label in labels if label not in styles):
        family_colours = {styles[other]["color"] for other in styles if families[other] == families[label]}
        colour, linestyle = _pick(used, control_colours | family_colours, n_rounds=len(labels) // n + 2)
        used.add((colour, linestyle))
        styles[label] = dict(color=colour, linestyle=linestyle)
    return {label: styles[label] for label in labels}
