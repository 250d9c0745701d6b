"""Critical-difference diagrams (Demšar 2006, JMLR, "Statistical Comparisons of Classifiers over Multiple
Data Sets", Sec. 3.2.2): per metric family, every method (model/explainer) is ranked within each block
(one metric on one image of one seed; rank 1 = best by the metric's direction), the Friedman test
(scipy) asks whether the mean ranks differ at all, and the Nemenyi post hoc test (scikit-posthocs) joins
the methods it cannot tell apart with a bar in the diagram (scikit-posthocs' ``critical_difference_diagram``).

Writes ``critical-difference-<family>.png`` in the run folder and returns one row per family and method:
mean rank, the Friedman statistic and p-value, and the number of blocks.
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

FAMILIES = {
    "faithfulness": ("insertion", "deletion", "morf", "lerf", "pixel-flipping", "region-perturbation",
                     "faithfulness-correlation", "monotonicity-correlation", "irof", "road"),
    "localisation": ("pointing-game", "relevance-mass-accuracy", "relevance-rank-accuracy", "auc"),
}
CD_COLUMNS = ["family", "method", "mean_rank", "friedman_statistic", "friedman_p", "blocks"]


def family_table(results: pd.DataFrame, metrics_info: dict, family: str) -> pd.DataFrame:
    """Blocks (metric, seed, sample) x methods of one family, as goodness (higher = better); blocks with a
    missing method are dropped (Friedman needs complete blocks)."""
    labels = [m for m, info in metrics_info.items() if info.get("name", m) in FAMILIES[family]]
    part = results[results.metric.isin(labels) & (results.explainer != "-")]
    if part.empty:
        return pd.DataFrame()
    several = part.model.nunique() > 1
    sign = part.metric.map(lambda m: -1.0 if metrics_info[m].get("direction") == "lower" else 1.0)
    part = part.assign(method=part.model + "/" + part.explainer if several else part.explainer,
                       goodness=part.value * sign)
    return part.pivot_table(index=["metric", "seed", "sample"], columns="method", values="goodness",
                            aggfunc="first").dropna()


def critical_difference(results: pd.DataFrame, metrics_info: dict, run_dir: Path,
                        explainers_info: dict | None = None) -> tuple[list[Path], pd.DataFrame]:
    paths, rows = [], []
    labels = set(results.explainer) - {"-"}  # each method in its explainer's colour, as in every figure
    styles = explainer_styles(with_labels(explainers_info or {}, labels))
    for family in FAMILIES:
        table = family_table(results, metrics_info, family)
        if table.shape[1] < 3 or table.shape[0] < 2:
            continue  # the test needs three methods and two blocks
        friedman = stats.friedmanchisquare(*table.to_numpy().T)
        nemenyi = posthocs.posthoc_nemenyi_friedman(table.to_numpy())
        nemenyi.index = nemenyi.columns = table.columns
        ranks = table.rank(axis=1, ascending=False).mean()
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.28 * len(ranks)))
        colours = {method: styles[method.split("/", 1)[-1]]["color"] for method in ranks.index}
        posthocs.critical_difference_diagram(ranks, nemenyi, ax=ax, color_palette=colours)
        ax.set_title(f"{family}: mean rank over {len(table)} blocks (1 = best); Friedman p = {friedman.pvalue:.2g}; "
                     "bars join methods Nemenyi cannot separate (p >= 0.05)", fontsize=9)
        path = run_dir / f"critical-difference-{family}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
        rows += [dict(family=family, method=method, mean_rank=float(rank), friedman_statistic=float(friedman.statistic),
                      friedman_p=float(friedman.pvalue), blocks=len(table)) for method, rank in ranks.items()]
    return paths, pd.DataFrame(rows, columns=CD_COLUMNS)
