"""Paired comparisons (iabench.stats.paired): the mean, its test and its interval agree; TOST against
statsmodels' own paired TOST; the minimum detectable effect against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from iabench.stats.paired import mean_test, orient, paired_effect


def _pairs(differences: np.ndarray, seeds: int = 1) -> tuple[pd.Series, pd.Series]:
    index = pd.MultiIndex.from_product([range(seeds), range(len(differences) // seeds)], names=["seed", "sample"])
    reference = pd.Series(np.linspace(0.2, 0.6, len(differences)), index=index)
    return reference + differences, reference


def test_a_skewed_image_difference_is_not_read_as_a_win() -> None:
    """54 images at -0.01 and 10 at +0.06 (the case a Wilcoxon p beside a mean effect misread): mean +0.0009,
    nothing like significant, and within δ = 0.02 by TOST (no effect larger than δ)."""
    effect = paired_effect(*_pairs(np.array([-0.01] * 54 + [0.06] * 10)), delta=0.02)
    assert effect["unit"] == "image" and effect["n"] == 64
    assert effect["effect"] == pytest.approx(0.0009375)
    assert effect["ci_low"] < 0 < effect["ci_high"] and effect["p_value"] > 0.5  # interval and test: one quantity
    assert effect["tost_p"] < 0.05 and -0.02 < effect["tost_low"] < effect["tost_high"] < 0.02
    assert stats.wilcoxon(np.array([-0.01] * 54 + [0.06] * 10)).pvalue < 0.01  # what the old test said


def test_tost_equals_statsmodels_paired_tost_and_its_90_percent_interval() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.05, 40)
    for shift in (0.0, 0.005, 0.015, 0.03):
        b = a + shift + rng.normal(0, 0.02, 40)
        ours = mean_test(b - a, delta=0.02)
        theirs = ttost_paired(b, a, -0.02, 0.02)[0]
        assert ours["tost_p"] == pytest.approx(theirs, rel=1e-10)
        inside = -0.02 < ours["tost_low"] and ours["tost_high"] < 0.02
        assert (ours["tost_p"] < 0.05) == inside, shift  # a 5% TOST is the 90% interval inside ±δ
    equivalent = mean_test(rng.normal(0.001, 0.005, 50), delta=0.02)
    assert equivalent["tost_p"] < 1e-6 and equivalent["p_value"] > 0.05


def test_minimum_detectable_effect_has_80_percent_power_in_a_simulation() -> None:
    """Data drawn with the MDE (in SDs of the differences) as true mean is detected by the two-sided t-test at 5%
    80% of the time, and half of it far less often. The normal approximation (z_0.975 + z_0.8) / sqrt(n) is a
    little smaller at n = 15 (the t-test pays for estimating the SD)."""
    n = 15
    differences = np.random.default_rng(1).normal(0.01, 0.04, n)
    mde = mean_test(differences)["mde"]
    per_sd = mde / differences.std(ddof=1)
    normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(n)
    assert normal < per_sd < 1.1 * normal
    rng = np.random.default_rng(2)
    power = (stats.ttest_1samp(rng.normal(per_sd, 1.0, (4000, n)), 0.0, axis=1).pvalue < 0.05).mean()
    assert power == pytest.approx(0.80, abs=0.02)
    half = (stats.ttest_1samp(rng.normal(per_sd / 2, 1.0, (4000, n)), 0.0, axis=1).pvalue < 0.05).mean()
    assert half < 0.4
    assert mean_test(differences * 3)["mde"] == pytest.approx(3 * mde)  # in units of the data


def test_no_spread_is_answered_exactly_and_too_few_pairs_are_no_test() -> None:
    same = mean_test(np.full(5, 0.01), delta=0.02)
    assert (same["p_value"], same["tost_p"], same["mde"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0, 0.01,
                                                                                              0.01)
    assert mean_test(np.full(5, 0.05), delta=0.02)["tost_p"] == 1.0  # outside ±δ: not equivalent
    assert mean_test(np.zeros(4), delta=0.02)["p_value"] == 1.0
    one = mean_test(np.array([0.3]))
    assert one["n"] == 1 and one["effect"] == 0.3 and math.isnan(one["p_value"]) and math.isnan(one["ci_low"])
    assert paired_effect(pd.Series(dtype=float), pd.Series(dtype=float))["unit"] == ""


def test_orient_flips_the_effect_and_reorders_both_intervals() -> None:
    effect = mean_test(np.array([0.1, 0.2, 0.4]), delta=0.5)
    flipped = orient(effect, -1)
    assert flipped["effect"] == -effect["effect"] and flipped["statistic"] == -effect["statistic"]
    assert (flipped["ci_low"], flipped["ci_high"]) == (-effect["ci_high"], -effect["ci_low"])
    assert (flipped["tost_low"], flipped["tost_high"]) == (-effect["tost_high"], -effect["tost_low"])
    assert flipped["p_value"] == effect["p_value"] and flipped["mde"] == effect["mde"]


def test_equal_up_to_float_rounding_is_relative_to_one_or_to_the_largest_difference() -> None:
    """Differences with an SD at most 1e-12 x max(1, max |d|) have no spread: the exact answer, not scipy's. A mean
    below that rounding is no effect (p = 1, statistic 0); above it, a certain one (p = 0, statistic ±inf)."""
    tiny = mean_test(np.array([1.0e-13, 1.01e-13, 0.99e-13, 1.0e-13]))  # all below 1e-12: rounding of zero
    assert (tiny["p_value"], tiny["statistic"], tiny["sd"]) == (1.0, 0.0, 0.0)
    small = mean_test(np.full(4, 1.5e-12) + np.array([0.0, 1e-16, -1e-16, 0.0]))  # no spread, a mean above 1e-12
    assert (small["p_value"], small["statistic"]) == (0.0, math.inf)
    assert mean_test(-np.full(4, 1.5e-12))["statistic"] == -math.inf
    large = mean_test(np.full(4, 1e6) + np.array([0.0, 1e-7, -1e-7, 0.0]))  # 1e-7 is rounding next to 1e6
    assert large["p_value"] == 0.0 and large["sd"] == 0.0


def test_two_pairs_are_a_test_with_one_degree_of_freedom() -> None:
    two = mean_test(np.array([0.1, 0.3]))
    assert two["n"] == 2 and two["effect"] == pytest.approx(0.2)
    assert two["p_value"] == pytest.approx(stats.ttest_1samp([0.1, 0.3], 0.0).pvalue)  # t = 2 with 1 df: 0.295
    assert two["ci_high"] - two["effect"] == pytest.approx(stats.t.ppf(0.975, 1) * 0.1, rel=1e-9)


@pytest.mark.parametrize(("n", "effect"), [(3, 4.0), (6, 1.5), (2000, 0.07)])
def test_the_power_integral_where_scipy_fails_equals_scipy_where_it_does_not(monkeypatch, n: int,
                                                                             effect: float) -> None:
    """The fallback (the noncentral t's tail as an integral over the variance) against scipy's noncentral t on the
    same tail, where scipy's is finite: few degrees of freedom and many (where the integrand is a narrow peak)."""
    from iabench.stats import paired

    expected = paired.power(effect, n, 0.01)
    monkeypatch.setattr(paired.stats.nct, "sf", lambda *args: math.nan)  # as scipy does far in its tails
    assert paired.power(effect, n, 0.01) == pytest.approx(expected, abs=1e-9)
    assert 0.05 < expected < 0.95  # a tail that matters
