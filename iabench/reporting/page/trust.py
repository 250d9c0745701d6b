"""One plain-language line per model and metric saying how far its explainer ranking can be trusted,
written by rules from stability.csv (see stability.py), never by hand:

- substrate: the top-3 order of the metric is compared with that of the same metric under every other
  substrate in the run: "holds under every substrate" when identical, else "changes with the substrate"
  with the lowest Kendall tau; a metric with one substrate says its dependence is untested;
- first place: "clear" when the best explainer's 95 % bootstrap rank interval is [1, 1], else the interval;
- agreement across images: Krippendorff's alpha against 0.667, the level below which Krippendorff (2004,
  Content Analysis, Sec. 11.4) advises against even tentative conclusions.
"""

from __future__ import annotations

import pandas as pd

from ...records import MetricRecords

ALPHA_TENTATIVE = 0.667
TOP = 3


def _top(ranks: pd.DataFrame, model: str, metric: str) -> list[str]:
    part = ranks[(ranks.model == model) & (ranks.metric == metric)].sort_values(["value", "explainer"])
    return part.explainer.head(TOP).tolist()


def trust_lines(stability: pd.DataFrame, metrics_info: MetricRecords) -> list[str]:
    """Lines for every (model, metric) with rank rows, in metrics.json order."""
    if stability.empty:
        return []
    ranks = stability[stability.kind == "rank"]
    alphas = stability[stability.kind == "alpha"].set_index(["model", "metric"]).value
    kendall = stability[(stability.kind == "kendall") & (stability.axis == "substrate")]
    lines = []
    order = [m for m in metrics_info if m in set(ranks.metric)]
    for model in sorted(ranks.model.unique()):
        for metric in order:
            top = _top(ranks, model, metric)
            if not top:
                continue
            record = metrics_info.of(metric)
            others = [m for m in order if m != metric and metrics_info.of(m).name == record.name
                      and metrics_info.of(m).substrate != record.substrate]
            text = f"{model} / {metric}: top {len(top)} {', '.join(top)}; "
            if not record.substrate:
                pass  # not a perturbation metric: no substrate to vary
            elif not others:
                text += "measured under one substrate only, so its dependence on the substrate is untested; "
            elif all(_top(ranks, model, other) == top for other in others):
                text += f"the top-{len(top)} order holds under every substrate ({len(others) + 1}); "
            else:
                pairs = kendall[(kendall.model == model) & ((kendall.a == metric) | (kendall.b == metric))]
                tau = f" (Kendall tau down to {pairs.value.min():.2f})" if not pairs.empty else ""
                text += f"the order changes with the substrate{tau}: do not rely on one; "
            best = ranks[(ranks.model == model) & (ranks.metric == metric) & (ranks.explainer == top[0])].iloc[0]
            text += ("the first place is clear (95 % rank interval [1, 1]); " if best.high == 1 else
                     f"the first place is uncertain (95 % rank interval [{best.low:g}, {best.high:g}]); ")
            alpha = alphas.get((model, metric))
            if alpha is None or pd.isna(alpha):
                text += "agreement across images not computed."
            elif alpha >= ALPHA_TENTATIVE:
                text += f"images largely agree on the order (Krippendorff's alpha {alpha:.2f})."
            else:
                text += (f"images disagree on the order (Krippendorff's alpha {alpha:.2f} < {ALPHA_TENTATIVE}): a "
                         "ranking from a few images would not repeat.")
            lines.append(text)
    return lines


TRUST_NOTE = ("How far each explainer ranking holds (stability.csv): one line per model and metric, written by rules "
              "from the rank intervals, the rankings under other substrates and Krippendorff's alpha across images; "
              "then Kendall's tau between rankings that should agree (1 = same order, -1 = reversed; p its p-value) "
              "and the critical-difference diagrams (critical_difference.csv): with 3 or more training seeds their "
              "blocks are the seeds; with fewer, images, and then they are conditional on these trained models and "
              "say nothing across training runs (each title says which).")


def kendall_table(kendall: pd.DataFrame) -> pd.DataFrame:
    """The Kendall rows as shown: one row per pair of settings on the substrate, unit and property axes; the seed
    and model axes, whose pairs grow with the square of the seeds and models (45 pairs for 10), summarised per
    model (seed axis) and metric as the median tau over the pairs and the lowest in brackets."""
    many = kendall.axis.isin(["seed", "model"])
    shown = kendall[~many][["axis", "model", "metric", "a", "b", "value", "low", "n"]]
    shown = shown.rename(columns={"value": "tau", "low": "p"}).assign(
        tau=lambda f: f.tau.map(lambda v: f"{v:.2f}"), p=lambda f: f.p.map(lambda v: f"{v:.2g}"))
    summary = []
    for axis in ("seed", "model"):
        part = kendall[kendall.axis == axis]
        keys = ["model", "metric"] if axis == "seed" else ["metric"]
        for key, group in part.groupby(keys, sort=False):
            model, metric = key if axis == "seed" else ("all models", key[0] if isinstance(key, tuple) else key)
            summary.append(dict(axis=axis, model=model, metric=metric, a=f"{len(group)} {axis} pairs",
                                b="median (lowest)", tau=f"{group.value.median():.2f} ({group.value.min():.2f})",
                                p="", n=int(group.n.max())))
    return pd.concat([shown, pd.DataFrame(summary, columns=shown.columns)], ignore_index=True).set_index("axis")


def trust_markdown(lines: list[str], stability: pd.DataFrame, diagrams: list, run_dir) -> str:
    """The body of the section "How far to trust this ranking" in markdown (its diagrams linked relative to
    ``run_dir``); an empty string when there is nothing."""
    from ..markdown import markdown_table

    if not lines and not diagrams:
        return ""
    kendall = kendall_table(stability[stability.kind == "kendall"])
    md = [*[f"- {line}" for line in lines], ""]
    if not kendall.empty:
        md += [markdown_table(kendall), ""]
    for path in diagrams:
        md += [f"![{path.stem}]({path.relative_to(run_dir).as_posix()})", ""]
    return "\n".join(md)
