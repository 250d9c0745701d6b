"""Critical-difference diagrams on planted results with known answers: the ranks and Friedman's p, the unit of the
blocks (seeds when there are enough, else images, said to be conditional), the level of the test under null data
with seed-to-seed variation, and every block or seed a failed score removes, counted."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from support import CD_EXPLAINERS as EXPLAINERS
from support import CD_INFO as INFO
from support import planted

from iabench.records import explainer_records_of
from iabench.records import metric_records_of as typed
from iabench.reporting.figures.critical_difference import CONDITIONAL, blocks, critical_difference, family_table

FAITHFUL = {k: v for k, v in INFO.items() if k != "sparseness"}


def test_critical_difference_ranks_and_friedman_with_images_as_blocks(tmp_path, monkeypatch) -> None:
    titles = []
    monkeypatch.setattr("matplotlib.axes.Axes.set_title", lambda self, text, **kw: titles.append(text))
    frame = planted()  # two seeds: too few to be the unit, so images are the blocks, said to be conditional
    paths, table = critical_difference(frame, typed(INFO), tmp_path)
    assert [p.name for p in paths] == ["critical-difference-faithfulness.png"] and paths[0].stat().st_size > 0
    ranks = table.set_index("method").mean_rank
    # deletion and insertion agree (a best ... d worst); deletion-blur reverses it: mean ranks over 3 metrics
    assert ranks.to_dict() == pytest.approx({"a": (1 + 1 + 4) / 3, "b": (2 + 2 + 3) / 3, "c": (3 + 3 + 2) / 3,
                                             "d": (4 + 4 + 1) / 3})
    goodness = [-frame[(frame.metric == m) & (frame.explainer == e)].sort_values(["seed", "sample"]).value.to_numpy()
                if INFO[m]["direction"] == "lower" else
                frame[(frame.metric == m) & (frame.explainer == e)].sort_values(["seed", "sample"]).value.to_numpy()
                for e in EXPLAINERS for m in ("deletion", "deletion-blur", "insertion")]
    direct = stats.friedmanchisquare(*[np.concatenate(goodness[i * 3:(i + 1) * 3]) for i in range(4)])
    assert table.friedman_p.iloc[0] == pytest.approx(direct.pvalue) and table.blocks.iloc[0] == 240
    assert set(table.unit) == {"image"} and CONDITIONAL in titles[0]
    fewer = frame[frame.explainer.isin(["a", "b"])]
    assert critical_difference(fewer, typed(INFO), tmp_path)[0] == []  # < 3 methods


def test_with_three_seeds_each_seed_is_one_block_of_its_mean_ranks(tmp_path) -> None:
    frame = planted(seeds=(0, 1, 2))
    frame.loc[(frame.explainer == "a") & (frame.metric == "insertion") & (frame.seed == 1), "value"] -= 0.25
    _, table = critical_difference(frame, typed(FAITHFUL), tmp_path)
    # per seed: the ranks of the image means per metric, averaged over deletion, insertion and deletion-blur: a 2,
    # b 7/3, c 8/3, d 3. Seed 1's insertion puts a third (0.25, between c's 0.3 and d's 0.2): there a (1 + 3 + 4) / 3,
    # b (2 + 1 + 3) / 3, c (3 + 2 + 2) / 3, d (4 + 4 + 1) / 3, so the block ranks b, c, a, d
    by_hand = [[1, 2, 3, 4], [3, 1, 2, 4], [1, 2, 3, 4]]
    ranks = table.set_index("method").mean_rank
    assert set(table.unit) == {"seed"} and set(table.blocks) == {3} and set(table.dropped) == {0}
    assert ranks.to_dict() == pytest.approx(dict(zip(EXPLAINERS, np.mean(by_hand, axis=0))))
    assert table.friedman_p.iloc[0] == pytest.approx(stats.friedmanchisquare(*np.array(by_hand).T).pvalue)


def null_rows(rng: np.random.Generator, seeds: int = 10, methods: int = 4, images: int = 20) -> pd.DataFrame:
    """Two metrics, no method better than another, but each trained model favours some methods by chance (sd 0.03,
    on every image and metric of that seed), as seed-to-seed variation does."""
    index = pd.MultiIndex.from_product([["deletion", "insertion"], range(seeds), range(images)],
                                       names=["metric", "seed", "sample"])
    favour = rng.normal(0, 0.03, (seeds, methods))
    image = rng.normal(0, 0.1, images)
    values = (0.5 + favour[index.get_level_values("seed")] + image[index.get_level_values("sample")][:, None]
              + rng.normal(0, 0.05, (len(index), methods)))
    return pd.DataFrame(values, index=index, columns=[f"e{j}" for j in range(methods)])


def test_null_data_with_seed_variation_rejects_at_about_the_level() -> None:
    rng = np.random.default_rng(0)
    rejected = {"seed": 0, "image": 0}
    for _ in range(100):
        rows = null_rows(rng)
        for unit in rejected:
            rejected[unit] += stats.friedmanchisquare(*blocks(rows, unit)[0].to_numpy().T).pvalue < 0.05
    assert rejected["seed"] <= 10  # seeds as blocks: about 5 of 100 at the 5 % level
    assert rejected["image"] >= 50  # images as blocks count one model's preference 20 times over


def test_a_seed_where_a_method_failed_on_every_image_is_counted_not_moved(tmp_path, monkeypatch) -> None:
    titles = []
    monkeypatch.setattr("matplotlib.axes.Axes.set_title", lambda self, text, **kw: titles.append(text))
    frame = planted(seeds=tuple(range(10)), images=10)
    frame = frame[frame.metric.isin(["deletion", "insertion"]) & frame.explainer.isin(["a", "b", "c"])].copy()
    frame.loc[(frame.explainer == "c") & (frame.seed == 9), "value"] = np.nan
    paths, table = critical_difference(frame, typed(FAITHFUL), tmp_path)
    assert [p.name for p in paths] == ["critical-difference-faithfulness.png"]  # one diagram, unsuffixed
    assert set(table.seeds) == {"0-9"} and set(table.blocks) == {9} and len(table) == 3
    assert set(table.dropped) == {2 * 10} and set(table.dropped_seeds) == {"9"}  # 2 metrics x 10 images of seed 9
    assert "20 images with a failed score left out; seed 9 left out (no complete image)" in titles[0]
    table_, scored = family_table(frame, typed(FAITHFUL), "faithfulness")
    assert scored["c"] == tuple(range(10))  # a failed score still counts as scored


def test_with_unequal_seeds_every_seed_set_has_its_diagram(tmp_path) -> None:
    """Model m on seeds 0-2, model q on seeds 0-1 (as a study's 14x14 models beside its 7x7 ones): one diagram over
    seeds 0-2 with m's four methods (seeds as blocks), one over seeds 0-1 with all eight (images as blocks: 3 metrics
    x 2 seeds x 40 images = 240); a failed score drops only its own block."""
    frame = planted(seeds=(0, 1, 2))
    frame = frame[frame.metric.isin(list(FAITHFUL))]
    frame = pd.concat([frame, frame[frame.seed < 2].assign(model="q")], ignore_index=True)
    frame.loc[(frame.model == "q") & (frame.explainer == "b") & (frame.seed == 1) & (frame["sample"] == 3)
              & (frame.metric == "insertion"), "value"] = np.nan
    paths, table = critical_difference(frame, typed(FAITHFUL), tmp_path)
    assert [p.name for p in paths] == ["critical-difference-faithfulness.png",
                                       "critical-difference-faithfulness-seeds-0-1.png"]
    widest = table[table.seeds == "0-2"]
    assert sorted(widest.method) == ["m/a", "m/b", "m/c", "m/d"] and set(widest.blocks) == {3}
    assert set(widest.unit) == {"seed"} and set(widest.dropped) == {0}
    # per seed: mean ranks over the three metrics a 2, b 7/3, c 8/3, d 3, so a first ... d last in every block
    assert widest.set_index("method").mean_rank.to_dict() == pytest.approx({"m/a": 1, "m/b": 2, "m/c": 3, "m/d": 4})
    both = table[table.seeds == "0-1"]
    assert len(both) == 8 and set(both.blocks) == {240 - 1} and set(both.dropped) == {1}
    assert set(both.unit) == {"image"} and set(both.dropped_seeds) == {""}


def test_each_method_is_drawn_in_its_explainers_colour(tmp_path, monkeypatch) -> None:
    from iabench.reporting.figures.palette import explainer_styles

    # the package re-exports the function
    module = importlib.import_module("iabench.reporting.figures.critical_difference")
    drawn = {}
    real = module.posthocs.critical_difference_diagram
    monkeypatch.setattr(module.posthocs, "critical_difference_diagram",
                        lambda *args, **kwargs: drawn.update(kwargs["color_palette"]) or real(*args, **kwargs))
    info = {"a": {"family": "gradient"}, "b": {"family": "attention"}, "c": {"family": "control"}}
    module.critical_difference(planted(), typed(INFO), tmp_path, explainer_records_of(info))
    styles = explainer_styles(explainer_records_of({**info, "d": {}}))  # d is not in explainers.json: styled alike
    assert drawn == {label: styles[label]["color"] for label in EXPLAINERS}
