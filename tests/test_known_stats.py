"""Statistics with known answers: interval levels (width and coverage), Holm = statsmodels, two-sided tests."""

from __future__ import annotations

import gc
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from iabench.reporting.stats import bootstrap_ci, holm, paired_effect, paired_wilcoxon, significance, summarise


@pytest.fixture(autouse=True)
def _no_full_gc_in_multipletests(monkeypatch: pytest.MonkeyPatch) -> None:
    """statsmodels' multipletests runs gc.collect() on every call: ~0.2 s each with torch loaded."""
    monkeypatch.setattr(gc, "collect", lambda *args: 0)


Z95 = 1.959964  # the normal 97.5% quantile: a 95% interval of a mean of n values is mean +- Z95 * s / sqrt(n)


# -- intervals at the stated level -------------------------------------------------------------------------------
def test_bootstrap_interval_has_the_width_of_a_95_percent_interval() -> None:
    """For n = 2000 the percentile bootstrap of the mean is the normal interval: half-width 1.96 s / sqrt(n)
    within a few % (resampling noise). A 90% level gives 0.84 of it, a 99% level 1.31: both fail."""
    values = np.random.default_rng(3).normal(10.0, 2.0, 2000)
    expected = Z95 * values.std(ddof=1) / math.sqrt(values.size)
    low, high = bootstrap_ci(values)
    assert (high - low) / 2 == pytest.approx(expected, rel=0.06)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.15 * expected)
    # the summary table's interval is that interval, on the group's values
    frame = pd.DataFrame({"seed": 0, "model": "m", "explainer": "e", "metric": "d", "sample": range(2000),
                          "value": values})
    row = summarise(frame, {"d": "lower"}).iloc[0]
    assert (row.ci_high - row.ci_low) / 2 == pytest.approx(expected, rel=0.06)
    assert (row.ci_low, row.ci_high) == (low, high)


def test_bootstrap_interval_covers_the_true_mean_at_its_level() -> None:
    """2000 simulated experiments of 100 normal values: the 95% interval holds the true mean in 92-97% of
    them (the percentile bootstrap under-covers a little: ~94% expected; binomial s.e. 0.5%). The same data
    at 90% cover < 91.5%: a wrong level fails."""
    samples = np.random.default_rng(0).normal(1.0, 1.0, (2000, 100))

    def coverage(level: float) -> float:
        return float(np.mean([low <= 1.0 <= high for low, high in (bootstrap_ci(s, level, 999) for s in samples)]))

    assert 0.92 <= coverage(0.95) <= 0.97
    assert coverage(0.90) < 0.915


# -- multiple comparisons ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 13, 40])
def test_holm_equals_statsmodels(m: int) -> None:
    rng = np.random.default_rng(m)
    for trial in range(20):
        p = rng.uniform(0, 0.2, m) ** rng.uniform(0.5, 3)
        if m > 2 and trial % 2:
            p[1] = p[0]  # ties
        expected = multipletests(p, alpha=0.05, method="holm")[1]
        np.testing.assert_allclose(holm(p), expected, rtol=1e-12, atol=0)


def test_holm_ignores_nan_like_statsmodels_on_the_finite_ones() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.002, np.nan, 0.3])
    finite = np.isfinite(p)
    adjusted = holm(p)
    assert np.isnan(adjusted[~finite]).all()
    np.testing.assert_allclose(adjusted[finite], multipletests(p[finite], method="holm")[1], rtol=1e-12)


def test_significance_applies_holm_per_metric_family() -> None:
    """Five methods against the reference on two metrics: p_holm of each metric = statsmodels' Holm over that
    metric's five raw p-values (not over all ten, not unadjusted)."""
    rng = np.random.default_rng(1)
    rows = []
    for metric in ("deletion", "insertion"):
        for k, shift in enumerate([0.0, 0.02, 0.05, 0.1, 0.3, 0.0]):
            model, explainer = ("ia-vit", "ia-vit") if k == 5 else ("vit", f"e{k}")
            rows += [(0, model, explainer, metric, s, 0.5 + shift + rng.normal(0, 0.2)) for s in range(30)]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    tests = significance(frame, {"deletion": "lower", "insertion": "higher"})
    for _, part in tests.groupby("metric"):
        assert len(part) == 5
        np.testing.assert_allclose(part.p_holm, multipletests(part.p_value, method="holm")[1], rtol=1e-12)
        assert (part.significant == (part.p_holm < 0.05)).all()
    assert (tests.p_holm > tests.p_value).any()


# -- the tests are two-sided, the effect is method - reference -----------------------------------------------------
def test_wilcoxon_exact_two_sided_p_by_hand() -> None:
    """Six pairs, every difference positive: exact two-sided p = 2 / 2^6 (one-sided: 1 / 2^6), W = 0."""
    reference = np.array([0.1, 0.4, 0.2, 0.9, 0.5, 0.3])
    method = reference + np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert paired_wilcoxon(method, reference) == (0.0, pytest.approx(2 / 64))
    assert paired_wilcoxon(reference, method)[1] == pytest.approx(2 / 64)


def test_seed_unit_t_test_two_sided_p_by_hand() -> None:
    """Per-seed differences 1, 2, 3: t = 2 / (1 / sqrt 3) = sqrt 12 on 2 df, whose two-sided p is
    1 - t / sqrt(2 + t^2) = 1 - sqrt(6/7) (the t_2 CDF in closed form)."""
    index = pd.MultiIndex.from_product([range(3), range(2)], names=["seed", "sample"])
    reference = pd.Series([0.3, 0.7, 0.1, 0.5, 0.9, 0.2], index=index)
    shift = np.repeat([1.0, 2.0, 3.0], 2)
    method = reference + shift
    effect = paired_effect(method, reference)
    assert effect["unit"] == "seed" and effect["n"] == 3 and effect["effect"] == pytest.approx(2.0)
    assert effect["statistic"] == pytest.approx(math.sqrt(12))
    assert effect["p_value"] == pytest.approx(1 - math.sqrt(6 / 7), rel=1e-9)
    swapped = paired_effect(reference, method)
    assert swapped["effect"] == pytest.approx(-2.0) and swapped["statistic"] == pytest.approx(-math.sqrt(12))
    assert swapped["p_value"] == pytest.approx(effect["p_value"], rel=1e-12)
    half = 4.302653 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n), s = 1
    assert effect["ci_low"] == pytest.approx(2 - half, abs=1e-5)
    assert effect["ci_high"] == pytest.approx(2 + half, abs=1e-5)


def test_image_unit_effect_sign_and_swap_symmetry() -> None:
    index = pd.MultiIndex.from_product([[0], range(25)], names=["seed", "sample"])
    rng = np.random.default_rng(4)
    reference = pd.Series(rng.normal(0.5, 0.1, 25), index=index)
    method = reference + rng.normal(0.05, 0.05, 25)
    ahead, behind = paired_effect(method, reference), paired_effect(reference, method)
    assert ahead["unit"] == "image" and ahead["effect"] > 0 and behind["effect"] == pytest.approx(-ahead["effect"])
    assert ahead["p_value"] == pytest.approx(behind["p_value"], rel=1e-12) and ahead["p_value"] < 0.05
    assert ahead["ci_low"] < ahead["effect"] < ahead["ci_high"] and ahead["ci_low"] > 0
