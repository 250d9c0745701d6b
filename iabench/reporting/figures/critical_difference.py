"""Critical-difference diagrams (Demšar 2006, JMLR, "Statistical Comparisons of Classifiers over Multiple
Data Sets", Sec. 3.2.2): per metric family, every method (model/explainer) is ranked within each block (rank 1 =
best by the metric's direction), the Friedman test (scipy) asks whether the mean ranks differ at all, and the
Nemenyi post hoc test (scikit-posthocs) joins the methods it cannot tell apart with a bar in the diagram
(scikit-posthocs' ``critical_difference_diagram``).

The blocks must be independent. The images of one trained model are not: a model that happens to favour one
method does so on every image, so with images as blocks Friedman rejects in 97 of 100 simulations with seed-to-seed
variation and no real difference between methods. Hence the unit follows ``paired``'s rule:
- with >= MIN_SEEDS seeds, one block per seed: each method's mean over the images every method scored, ranked per
  metric, the ranks averaged over the family's metrics (ranks make the metrics commensurable). The diagram then
  speaks across training runs;
- with fewer seeds, one block per (metric, seed, image), and the diagram says plainly that it is conditional on
  these trained models and says nothing across training runs.

Methods of a study may have been trained on different seeds (the 7x7 models on seeds 0-9, the ablations on 0-2):
one diagram per set of seeds S that some method was scored on, holding every method scored on all of S. A method
is scored on a seed when the run holds its rows there, failed (NaN) or not, so a failure never moves a seed to
another diagram: what it removes is counted, the images (or blocks) left out in ``dropped`` and the seeds left
with nothing in ``dropped_seeds``, and the title says both. Metrics scored on a subset (metrics.json ``samples`` or
``explainers``, e.g. ROAD on 50 images) are left out: their blocks lack methods by design, and the title names them.

Writes ``critical-difference-<family>.png`` (the first diagram drawn, the widest seed set) and
``critical-difference-<family>-seeds-<S>.png`` (the others) in the run folder and returns one row per diagram and
method (``CD_COLUMNS``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import scikit_posthocs as posthocs  # noqa: E402
from scipy import stats  # noqa: E402

from ...records import ExplainerRecords, MetricRecords  # noqa: E402
from ...stats import MIN_SEEDS  # noqa: E402
from ...store import MODEL_LEVEL
from .palette import explainer_styles, with_labels  # noqa: E402

FAMILIES = ("faithfulness", "localisation")  # the metric families (metrics.json "family") ranked in CD diagrams
CD_COLUMNS = ["family", "seeds", "unit", "method", "mean_rank", "friedman_statistic", "friedman_p", "blocks",
              "dropped", "dropped_seeds"]
CONDITIONAL = "conditional on these trained models: images as blocks, nothing said across training runs"


def family_table(results: pd.DataFrame, metrics_info: MetricRecords,
                 family: str) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """(rows (metric, seed, sample) x methods of one family, as goodness (higher = better), NaN where a method has
    no score or a failed one; the seeds each method was scored on, failed scores included)."""
    records = metrics_info
    labels = [m for m, r in records.items() if r.family == family and not r.scoped]  # a subset's: never complete
    part = results[results.metric.isin(labels) & (results.explainer != MODEL_LEVEL)]
    if part.empty:
        return pd.DataFrame(), {}
    several = part.model.nunique() > 1
    sign = part.metric.map(lambda m: -1.0 if records[m].lower_is_better else 1.0)
    part = part.assign(method=part.model + "/" + part.explainer if several else part.explainer,
                       goodness=part.value * sign)
    scored = {m: tuple(sorted(set(seeds))) for m, seeds in part.groupby("method").seed}
    table = part.pivot_table(index=["metric", "seed", "sample"], columns="method", values="goodness",
                             aggfunc="first", dropna=False)
    return table, scored


def seed_groups(table: pd.DataFrame, scored: dict[str, tuple]) -> list[tuple[tuple, pd.DataFrame]]:
    """(seeds S, the rows of S for the methods scored on every seed of S) per distinct seed set, widest first."""
    seeds = table.index.get_level_values("seed")
    groups = []
    for group in sorted(set(scored.values()), key=lambda s: (-len(s), s)):
        methods = [m for m in table.columns if set(group) <= set(scored.get(m, ()))]
        groups.append((group, table.loc[seeds.isin(group), methods]))
    return groups


def blocks(rows: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, int, list]:
    """(blocks x methods, rows left out for a failed score, seeds left with no block). ``unit`` "image": the complete
    rows themselves; "seed": per seed, the mean rank over metrics of each method's mean over the complete rows."""
    complete = rows.dropna()
    dropped = len(rows) - len(complete)
    left = set(complete.index.get_level_values("seed"))
    lost = sorted(set(rows.index.get_level_values("seed")) - left)
    if unit == "image":
        return complete, dropped, lost
    means = complete.groupby(level=["metric", "seed"]).mean()
    ranks = means.rank(axis=1, ascending=False).groupby(level="seed").mean()
    return -ranks, dropped, lost  # goodness: a lower mean rank is better


def seeds_text(seeds: tuple | list) -> str:
    """'0-9' for a run of seeds, else '0,2,5'."""
    if len(seeds) > 1 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def _title(family: str, seeds: tuple, unit: str, blocked: tuple[pd.DataFrame, int, list], p: float,
           subsets: list[str]) -> str:
    """The diagram's title; ``blocked``: what ``blocks`` returned (the blocks, rows left out, seeds lost)."""
    table, dropped, lost = blocked
    over = (f"{len(table)} seeds (each: the mean over metrics of the ranks of the image means)" if unit == "seed"
            else f"{len(table)} blocks (metric x seed x image; {CONDITIONAL})")
    text = f"{family}, seeds {seeds_text(seeds)}: mean rank over {over}; Friedman p = {p:.2g}"
    if dropped:
        text += f"; {dropped} {'images' if unit == 'seed' else 'blocks'} with a failed score left out"
    if lost:
        none = "image" if unit == "seed" else "block"
        text += f"; seed{'s' if len(lost) > 1 else ''} {seeds_text(lost)} left out (no complete {none})"
    text += "\nbars join methods Nemenyi cannot separate (p >= 0.05)"
    return text + (f"; not ranked (scored on a subset): {', '.join(subsets)}" if subsets else "")


def critical_difference(results: pd.DataFrame, metrics_info: MetricRecords, run_dir: Path,
                        explainers_info: ExplainerRecords | None = None) -> tuple[list[Path], pd.DataFrame]:
    paths, rows = [], []
    labels = set(results.explainer) - {MODEL_LEVEL}  # each method in its explainer's colour, as in every figure
    styles = explainer_styles(with_labels(explainers_info or ExplainerRecords(), labels))
    for family in FAMILIES:
        full, scored = family_table(results, metrics_info, family)
        subsets = [m for m, r in metrics_info.items() if r.family == family and r.scoped
                   and m in set(results.metric)]
        drawn = 0
        for seeds, group in seed_groups(full, scored) if not full.empty else []:
            unit = "seed" if len(seeds) >= MIN_SEEDS else "image"
            blocked = blocks(group, unit)
            table, dropped, lost = blocked
            if table.shape[1] < 3 or table.shape[0] < 2:
                continue  # the test needs three methods and two blocks
            friedman = stats.friedmanchisquare(*table.to_numpy().T)
            nemenyi = posthocs.posthoc_nemenyi_friedman(table.to_numpy())
            nemenyi.index = nemenyi.columns = table.columns
            ranks = table.rank(axis=1, ascending=False).mean()
            fig, ax = plt.subplots(figsize=(9, 1.4 + 0.28 * len(ranks)))
            colours = {method: styles[method.split("/", 1)[-1]]["color"] for method in ranks.index}
            posthocs.critical_difference_diagram(ranks, nemenyi, ax=ax, color_palette=colours)
            ax.set_title(_title(family, seeds, unit, blocked, friedman.pvalue, subsets), fontsize=9)
            suffix = "" if drawn == 0 else f"-seeds-{seeds_text(seeds).replace(',', '_')}"
            path = run_dir / f"critical-difference-{family}{suffix}.png"
            fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
            plt.close(fig)
            paths.append(path)
            drawn += 1
            rows += [dict(family=family, seeds=seeds_text(seeds), unit=unit, method=method, mean_rank=float(rank),
                          friedman_statistic=float(friedman.statistic), friedman_p=float(friedman.pvalue),
                          blocks=len(table), dropped=dropped, dropped_seeds=seeds_text(lost))
                     for method, rank in ranks.items()]
    return paths, pd.DataFrame(rows, columns=CD_COLUMNS)
