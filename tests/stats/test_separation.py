"""Whether a score separates the explainers (iabench/stats/separation.py): a table worked by hand, and with two
explainers the F of each design against scipy's paired t."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from iabench.stats.separation import resolved_pairs, separation


def test_one_seed_by_hand() -> None:
    """3 explainers x 3 images, one seed: grand mean 10/3, SS explainers 8, SS images 14, total 26, rest 4;
    F = (8 / 2) / (4 / 4) = 4 on (2, 4) df, whose upper tail is (1 + 2 x 4 / 4)^-2 = 1/9."""
    y = np.array([[1, 2, 3], [3, 4, 5], [2, 3, 7]], dtype=float)[:, None, :]
    out = separation(y)
    assert out["explainer_share"] == pytest.approx(8 / 26, abs=1e-12)
    assert out["image_share"] == pytest.approx(18 / 26, abs=1e-12)  # images 14 and the interaction 4
    assert out["seed_share"] == pytest.approx(0.0, abs=1e-12)
    assert (out["f"], out["df1"], out["df2"]) == (pytest.approx(4.0, abs=1e-12), 2.0, 4.0)
    assert out["p_value"] == pytest.approx(1 / 9, abs=1e-12)


def test_two_explainers_are_the_paired_t_squared() -> None:
    rng = np.random.default_rng(3)
    one_seed = rng.normal(size=(2, 1, 12)) + np.array([0.0, 0.4])[:, None, None]
    t = stats.ttest_rel(one_seed[0, 0], one_seed[1, 0])
    out = separation(one_seed)
    assert out["f"] == pytest.approx(t.statistic ** 2, rel=1e-10)
    assert out["p_value"] == pytest.approx(t.pvalue, rel=1e-9)
    seeds = rng.normal(size=(2, 5, 8)) + rng.normal(size=(1, 5, 1)) + np.array([0.0, 0.3])[:, None, None]
    means = seeds.mean(axis=2)  # with seeds the replicate, the test is on the seeds' means
    t = stats.ttest_rel(means[0], means[1])
    out = separation(seeds)
    assert out["f"] == pytest.approx(t.statistic ** 2, rel=1e-10)
    assert out["p_value"] == pytest.approx(t.pvalue, rel=1e-9)
    assert (out["df1"], out["df2"]) == (1.0, 4.0)
    assert sum(out[k] for k in ("explainer_share", "seed_share", "image_share")) == pytest.approx(1.0, abs=1e-12)


def test_equal_explainers_do_not_separate_and_distinct_ones_do() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(6, 3, 40))
    assert separation(noise)["p_value"] > 0.01
    apart = noise * 0.01 + np.arange(6)[:, None, None]
    out = separation(apart)
    assert out["p_value"] < 1e-12 and out["explainer_share"] > 0.99
    exact = np.broadcast_to(np.arange(3.0)[:, None, None], (3, 1, 4))  # no noise at all
    assert separation(exact)["p_value"] == 0.0 and np.isnan(separation(np.ones((3, 1, 4)))["p_value"])
    assert np.isnan(separation(np.ones((1, 2, 4)))["f"])  # one explainer: nothing to separate


def test_resolved_pairs_counts_the_pairs_ordered_beyond_noise() -> None:
    """Two clusters of explainers far apart and tied within: of 6 explainers' 15 pairs, the 9 across the clusters
    are ordered; with seeds, the test is on the seeds' means (a tie within a cluster stays a tie)."""
    rng = np.random.default_rng(1)
    level = np.array([0, 0, 0, 5, 5, 5], dtype=float)[:, None, None]
    one_seed = level + rng.normal(size=(6, 1, 30))
    assert resolved_pairs(one_seed, 0.05) == pytest.approx(9 / 15, abs=1e-12)
    seeds = level + rng.normal(size=(6, 4, 30))
    assert resolved_pairs(seeds, 0.05) == pytest.approx(9 / 15, abs=1e-12)
    assert np.isnan(resolved_pairs(one_seed[:1], 0.05))
