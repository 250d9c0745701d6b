"""Seed x image variance components (iabench.stats.variance): a hand-computed 2 x 3 layout, a simulation
with known components, and the balanced part of an unbalanced design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iabench.stats.variance import components, crossed_shares


def test_two_seeds_three_images_by_hand() -> None:
    """d = [[1, 2, 6], [3, 4, 8]]: grand 4, seed means 3 and 5, image means 2, 3, 7. MS_seed = 3 * 2 / 1 = 6,
    MS_image = 2 * (4 + 1 + 9) / 2 = 14, residuals all 0 -> MS_rest = 0; v_seed = 6 / 3 = 2, v_image = 14 / 2 = 7.
    Variance of the grand mean: 2 / 2 + 7 / 3 + 0 = 10 / 3, shares 0.3, 0.7, 0."""
    out = components(np.array([[1.0, 2.0, 6.0], [3.0, 4.0, 8.0]]))
    assert (out["v_seed"], out["v_image"], out["v_rest"]) == (pytest.approx(2.0), pytest.approx(7.0), 0.0)
    assert (out["seed_share"], out["image_share"], out["rest_share"]) == (pytest.approx(0.3), pytest.approx(0.7), 0.0)


def test_components_recover_a_simulated_crossed_design() -> None:
    """10 seeds x 400 images, v_seed = 0.0004, v_image = 0.01, v_rest = 0.0025 (sd 0.02, 0.1, 0.05): the estimates
    land near the truth (averaged over 200 replicates: the seed component of one design has 9 df, a relative SD of
    47%, 3% over 200)."""
    rng = np.random.default_rng(0)
    estimates = []
    for _ in range(200):
        d = (0.01 + rng.normal(0, 0.02, (10, 1)) + rng.normal(0, 0.1, (1, 400)) + rng.normal(0, 0.05, (10, 400)))
        estimates.append(components(d))
    mean = pd.DataFrame(estimates).mean()
    assert mean.v_seed == pytest.approx(0.0004, rel=0.1)
    assert mean.v_image == pytest.approx(0.01, rel=0.05)
    assert mean.v_rest == pytest.approx(0.0025, rel=0.02)
    truth = np.array([0.0004 / 10, 0.01 / 400, 0.0025 / 4000])
    np.testing.assert_allclose(mean[["seed_share", "image_share", "rest_share"]], truth / truth.sum(), atol=0.05)
    no_seed_effect = components(rng.normal(0, 0.1, (1, 50)) + rng.normal(0, 0.05, (5, 50)))
    assert no_seed_effect["v_seed"] >= 0  # a negative moment estimate is set to 0


def test_crossed_shares_use_the_images_every_seed_scored() -> None:
    index = pd.MultiIndex.from_product([range(2), range(4)], names=["seed", "sample"])
    paired = pd.DataFrame({"m": [1.0, 2.0, 6.0, 9.0, 3.0, 4.0, 8.0, np.nan],
                           "r": [0.5, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 1.0]}, index=index)
    expected = components(np.array([[0.5, 2.0, 5.0], [3.0, 2.0, 8.0]]))  # m - r; image 3: one seed only
    assert crossed_shares(paired) == expected and expected["v_rest"] > 0
    assert np.isnan(components(np.ones((1, 5)))["seed_share"])  # one seed: nothing to split


def test_two_seeds_two_images_with_an_interaction_by_hand() -> None:
    """d = [[1, 2], [3, 7]]: grand 3.25, seed means 1.5 and 5, image means 2 and 4.5; residuals ±0.75, so
    MS_rest = 4 x 0.5625 / (1 x 1) = 2.25; MS_seed = 2 x 2 x 1.75² / 1 = 12.25, MS_image = 2 x 2 x 1.25² / 1 = 6.25;
    v_seed = (12.25 - 2.25) / 2 = 5, v_image = (6.25 - 2.25) / 2 = 2, v_rest = 2.25."""
    out = components(np.array([[1.0, 2.0], [3.0, 7.0]]))
    assert (out["v_seed"], out["v_image"], out["v_rest"]) == (pytest.approx(5.0), pytest.approx(2.0),
                                                              pytest.approx(2.25))
    parts = np.array([5.0 / 2, 2.0 / 2, 2.25 / 4])
    assert out["seed_share"] == pytest.approx(parts[0] / parts.sum())


def test_one_seed_or_one_image_has_no_components_and_no_spread_no_shares() -> None:
    import math
    import warnings

    for shape in ((1, 5), (5, 1)):
        assert all(math.isnan(v) for v in components(np.ones(shape)).values()), shape
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 / 0 on the way
        flat = components(np.full((3, 4), 0.2))
    assert max(flat["v_seed"], flat["v_image"], flat["v_rest"]) < 1e-30  # zero up to float rounding
    assert all(math.isnan(flat[k]) for k in ("seed_share", "image_share", "rest_share"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        large = components(np.full((3, 4), 1000.1) + np.array([0.0, 1e-13, 0.0, -1e-13]))  # rounding next to 1e3
    assert all(math.isnan(large[k]) for k in ("seed_share", "image_share", "rest_share"))
    small = components(np.array([[0.0, 1e-7], [2e-7, 5e-7]]))  # tiny, yet far above rounding: shares
    assert small["seed_share"] == pytest.approx(components(np.array([[0.0, 1.0], [2.0, 5.0]]))["seed_share"])
