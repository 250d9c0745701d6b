"""stability.csv on planted results with known answers: Kendall tau of rankings, bootstrap rank intervals,
Krippendorff's alpha across images."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from support import CD_INFO as INFO
from support import planted

from iabench.records import metric_records_of as typed
from iabench.refresh import metric_records
from iabench.reporting.stability import stability


def rows(frame: pd.DataFrame, **where: str) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= frame[key] == value
    return frame[mask]


def test_kendall_tau_per_axis_follows_each_metrics_direction() -> None:
    table = stability(planted(), typed(INFO))
    property_ = rows(table, kind="kendall", axis="property").iloc[0]
    assert (property_.a, property_.b) == ("deletion", "insertion")
    assert property_.value == pytest.approx(1.0) and property_.n == 4  # lower deletion = higher insertion
    substrate = rows(table, kind="kendall", axis="substrate").iloc[0]
    assert (substrate.a, substrate.b, substrate.value) == ("deletion", "deletion-blur", pytest.approx(-1.0))
    assert substrate.low == pytest.approx(stats.kendalltau([0, 1, 2, 3], [3, 2, 1, 0]).pvalue)
    seeds = rows(table, kind="kendall", axis="seed", metric="sparseness").iloc[0]
    assert (seeds.a, seeds.b, seeds.value) == ("seed 0", "seed 1", pytest.approx(1.0))
    assert rows(table, kind="kendall", axis="model").empty  # one model: nothing to compare
    # sparseness is not a perturbation metric: in no substrate/property pair
    assert not rows(table, kind="kendall").query("axis in ['substrate', 'property']").metric.str.contains(
        "sparseness").any()


def test_rank_and_its_bootstrap_interval() -> None:
    table = rows(stability(planted(), typed(INFO)), kind="rank", metric="sparseness").set_index("explainer")
    assert table.value.to_dict() == {"a": 2.0, "b": 1.0, "c": 3.0, "d": 4.0}
    assert (table.low == table.value).all() and (table.high == table.value).all()  # separated by 10 sd
    frame = planted(noise=0.8)  # a and b 0.1 apart, noise 0.8 on 80 images (s.e. of the gap 0.13): overlap
    loose = rows(stability(frame, typed(INFO)), kind="rank", metric="sparseness").set_index("explainer")
    assert loose.loc["b", "high"] >= 2 and loose.loc["a", "low"] <= 1.5


def test_krippendorff_alpha_across_images() -> None:
    table = stability(planted(), typed(INFO))
    assert rows(table, kind="alpha", metric="deletion").value.iloc[0] == pytest.approx(1.0)  # every image agrees
    frame = planted(noise=5.0)  # noise swamps the levels: images order the explainers at random
    noisy = rows(stability(frame, typed(INFO)), kind="alpha", metric="insertion").iloc[0]
    ranks = stats.rankdata(-frame[(frame.metric == "insertion")].pivot_table(
        index=["seed", "sample"], columns="explainer", values="value").to_numpy(), axis=1)
    assert noisy.value == pytest.approx(krippendorff.alpha(reliability_data=ranks, level_of_measurement="ordinal"))
    assert abs(noisy.value) < 0.1 and noisy.n == 80


def test_trust_lines_follow_the_rules() -> None:
    from iabench.reporting.page.trust import trust_lines

    lines = {line.split(":")[0]: line for line in trust_lines(stability(planted(), typed(INFO)), typed(INFO))}
    assert set(lines) == {"m / deletion", "m / deletion-blur", "m / insertion", "m / sparseness"}
    assert "top 3 a, b, c; the order changes with the substrate (Kendall tau down to -1.00)" in lines["m / deletion"]
    assert "measured under one substrate only" in lines["m / insertion"]  # no insertion under another substrate
    assert "substrate" not in lines["m / sparseness"].split(";", 1)[1]  # not a perturbation metric
    assert all("first place is clear" in line and "images largely agree" in line for line in lines.values())
    same = INFO | {"deletion-blur": {**INFO["deletion-blur"], "direction": "higher"}}  # now the same order
    line = next(x for x in trust_lines(stability(planted(), typed(same)), typed(same))
                if x.startswith("m / deletion:"))
    assert "the top-3 order holds under every substrate (2)" in line
    noisy = next(x for x in trust_lines(stability(planted(noise=0.8), typed(INFO)), typed(INFO))
                 if x.startswith("m / sparseness"))
    assert "first place is uncertain (95 % rank interval [1, 2])" in noisy and "images disagree" in noisy


def test_kendall_axis_is_the_one_protocol_part_that_differs() -> None:
    """deletion vs deletion-patch: same name and substrate, another unit (the unit axis); deletion-patch vs
    deletion-blur differs in two parts: no row."""
    info = {**INFO, **metric_records({"deletion-patch": {"name": "deletion", "direction": "lower",
                                                         "substrate": "zeros", "unit": "patch"}})}
    frame = planted()
    patch = frame[frame.metric == "deletion"].assign(metric="deletion-patch")
    patch.loc[patch.explainer == "a", "value"] += 1.0  # a falls from first to last at the patch unit
    table = stability(pd.concat([frame, patch], ignore_index=True), typed(info))
    unit = rows(table, kind="kendall", axis="unit")
    assert unit.metric.tolist() == ["deletion | deletion-patch"]
    assert unit.value.iloc[0] == pytest.approx(stats.kendalltau([0, 1, 2, 3], [3, 0, 1, 2]).statistic)
    pairs = rows(table, kind="kendall").metric.tolist()
    assert "deletion-blur | deletion-patch" not in pairs and "deletion-patch | deletion-blur" not in pairs


def test_seed_pairs_are_summarised_and_subset_metrics_stay_out_of_the_diagrams(tmp_path) -> None:
    from iabench.reporting.figures.critical_difference import critical_difference
    from iabench.reporting.page.trust import kendall_table

    frame = planted(seeds=(0, 1, 2, 3))
    frame = pd.concat([frame, *[frame.assign(model=m) for m in ("m2", "m3")]], ignore_index=True)
    shown = kendall_table(rows(stability(frame, typed(INFO)), kind="kendall"))
    seed_rows = shown.loc[["seed"]]
    assert len(seed_rows) == 3 * 4  # one per model and metric, not 6 seed pairs each
    assert set(seed_rows.a) == {"6 seed pairs"} and seed_rows.tau.iloc[0] == "1.00 (1.00)"
    model_rows = shown.loc[["model"]]
    assert len(model_rows) == 4 and set(model_rows.a) == {"3 model pairs"} and set(model_rows.model) == {"all models"}
    assert len(shown.loc[["substrate"]]) == 3  # one substrate pair per model, each shown
    info = {**INFO, "deletion-blur": {**INFO["deletion-blur"], "samples": 10}}  # scored on 10 images only
    _, table = critical_difference(frame[frame.metric != "sparseness"], typed(info), tmp_path)
    # deletion and insertion only; four seeds, so each seed is a block
    assert set(table.blocks) == {4} and set(table.unit) == {"seed"} and set(table.dropped) == {0}
