"""Critical-difference diagrams (Demšar 2006, JMLR, "Statistical Comparisons of Classifiers over Multiple
Data Sets", Sec. 3.2.2): per metric family, every method (model/explainer) is ranked within each block
(one metric on one image of one seed; rank 1 = best by the metric's direction), the Friedman test
(scipy) asks whether the mean ranks differ at all, and the Nemenyi post hoc test (scikit-posthocs) joins
the methods it cannot tell apart with a bar in the diagram (scikit-posthocs' ``critical_difference_diagram``).

Friedman needs complete blocks, and methods of a study may have been trained on different seeds (the 7x7
models on seeds 0-9, the ablations on 0-2): one diagram per set of seeds S found in the run, holding every
method scored on all of S, its blocks the seeds of S. So no block is dropped for a seed some method lacks:
each seed's blocks are in the diagram of the smallest seed set that contains it, with every method that has
it. A block where a method's score failed (NaN) is still left out, and counted (``dropped``). Metrics scored on
a subset (metrics.json ``samples`` or ``explainers``, e.g. ROAD on 50 images) are left out: their blocks lack
methods by design, and the diagram's title names them.

Writes ``critical-difference-<family>.png`` (the widest seed set) and ``critical-difference-<family>-seeds-<S>.png``
(the others) in the run folder and returns one row per diagram and method: seeds, mean rank, the Friedman
statistic and p-value, the number of blocks and of blocks dropped for a failed score.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import scikit_posthocs as posthocs  # noqa: E402
from scipy import stats  # noqa: E402

from .palette import explainer_styles, with_labels  # noqa: E402

FAMILIES = ("faithfulness", "localisation")  # the metric families (metrics.json "family") ranked in CD diagrams
CD_COLUMNS = ["family", "seeds", "method", "mean_rank", "friedman_statistic", "friedman_p", "blocks", "dropped"]


def family_table(results: pd.DataFrame, metrics_info: dict, family: str) -> pd.DataFrame:
    """Blocks (metric, seed, sample) x methods of one family, as goodness (higher = better); NaN where a method
    has no score for a block (another seed set, or a failed explanation)."""
    labels = [m for m, info in metrics_info.items() if info.get("family") == family
              and not (info.get("samples") or info.get("explainers"))]  # a subset's blocks are never complete
    part = results[results.metric.isin(labels) & (results.explainer != "-")]
    if part.empty:
        return pd.DataFrame()
    several = part.model.nunique() > 1
    sign = part.metric.map(lambda m: -1.0 if metrics_info[m].get("direction") == "lower" else 1.0)
    part = part.assign(method=part.model + "/" + part.explainer if several else part.explainer,
                       goodness=part.value * sign)
    return part.pivot_table(index=["metric", "seed", "sample"], columns="method", values="goodness",
                            aggfunc="first", dropna=False)


def seed_groups(table: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame, int]]:
    """(seeds S, complete blocks of the methods scored on every seed of S, blocks dropped for a failed score) per
    distinct seed set of the methods, widest first."""
    seeds = table.index.get_level_values("seed")
    scored = {m: tuple(sorted(set(seeds[table[m].notna().to_numpy()]))) for m in table.columns}
    groups = []
    for group in sorted(set(scored.values()), key=lambda s: (-len(s), s)):
        methods = [m for m, own in scored.items() if set(group) <= set(own)]
        block = table.loc[seeds.isin(group), methods]
        complete = block.dropna()
        groups.append((group, complete, len(block) - len(complete)))
    return groups


def seeds_text(seeds: tuple) -> str:
    """'0-9' for a run of seeds, else '0,2,5'."""
    if len(seeds) > 1 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def critical_difference(results: pd.DataFrame, metrics_info: dict, run_dir: Path,
                        explainers_info: dict | None = None) -> tuple[list[Path], pd.DataFrame]:
    paths, rows = [], []
    labels = set(results.explainer) - {"-"}  # each method in its explainer's colour, as in every figure
    styles = explainer_styles(with_labels(explainers_info or {}, labels))
    for family in FAMILIES:
        full = family_table(results, metrics_info, family)
        subsets = [m for m, info in metrics_info.items() if info.get("family") == family
                   and (info.get("samples") or info.get("explainers")) and m in set(results.metric)]
        for index, (seeds, table, dropped) in enumerate(seed_groups(full) if not full.empty else []):
            if table.shape[1] < 3 or table.shape[0] < 2:
                continue  # the test needs three methods and two blocks
            friedman = stats.friedmanchisquare(*table.to_numpy().T)
            nemenyi = posthocs.posthoc_nemenyi_friedman(table.to_numpy())
            nemenyi.index = nemenyi.columns = table.columns
            ranks = table.rank(axis=1, ascending=False).mean()
            fig, ax = plt.subplots(figsize=(9, 1.2 + 0.28 * len(ranks)))
            colours = {method: styles[method.split("/", 1)[-1]]["color"] for method in ranks.index}
            posthocs.critical_difference_diagram(ranks, nemenyi, ax=ax, color_palette=colours)
            failed = f"; {dropped} blocks with a failed score left out" if dropped else ""
            failed += f"\nnot ranked (scored on a subset): {', '.join(subsets)}" if subsets else ""
            ax.set_title(f"{family}, seeds {seeds_text(seeds)}: mean rank over {len(table)} blocks (1 = best); "
                         f"Friedman p = {friedman.pvalue:.2g}{failed}; bars join methods Nemenyi cannot separate "
                         "(p >= 0.05)", fontsize=9)
            suffix = "" if index == 0 else f"-seeds-{seeds_text(seeds).replace(',', '_')}"
            path = run_dir / f"critical-difference-{family}{suffix}.png"
            fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
            plt.close(fig)
            paths.append(path)
            rows += [dict(family=family, seeds=seeds_text(seeds), method=method, mean_rank=float(rank),
                          friedman_statistic=float(friedman.statistic), friedman_p=float(friedman.pvalue),
                          blocks=len(table), dropped=dropped) for method, rank in ranks.items()]
    return paths, pd.DataFrame(rows, columns=CD_COLUMNS)
