"""Statistics with known answers: interval levels (width and coverage), Holm = statsmodels, two-sided t-tests of
the mean difference."""

from __future__ import annotations

import gc
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from iabench.reporting.summary import significance, summarise
from iabench.stats import bootstrap_ci, holm, paired_effect, t_interval


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
    assert set(tests.family) == {f"{m}: 5 comparisons with ia-vit/ia-vit" for m in ("deletion", "insertion")}


def test_significance_family_counts_the_comparisons_holm_counts() -> None:
    """Three methods against the reference, one of them with a single image pair (no p-value): Holm's m is 2, and so
    is the family's count."""
    rows = [(0, "ia-vit", "ia-vit", "deletion", s, 0.5 + 0.01 * s) for s in range(10)]
    rows += [(0, "vit", e, "deletion", s, 0.55 + 0.02 * s * k) for k, e in enumerate(("a", "b"), 1) for s in range(10)]
    rows += [(0, "vit", "c", "deletion", 0, 0.7)]
    tests = significance(pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"]),
                         {"deletion": "lower"})
    assert len(tests) == 3 and tests.p_value.isna().sum() == 1
    assert set(tests.family) == {"deletion: 2 comparisons with ia-vit/ia-vit"}
    np.testing.assert_allclose(tests.p_holm.dropna(), multipletests(tests.p_value.dropna(), method="holm")[1])


# -- the tests are two-sided, the effect is method - reference -----------------------------------------------------
def test_image_unit_t_test_two_sided_p_by_hand() -> None:
    """One seed, three images with differences 1, 2, 3: the same closed form as below (t = sqrt 12 on 2 df), now
    over images: the image unit tests the mean too (not the pseudo-median, as Wilcoxon would)."""
    index = pd.MultiIndex.from_product([[0], range(3)], names=["seed", "sample"])
    reference = pd.Series([0.3, 0.7, 0.1], index=index)
    effect = paired_effect(reference + np.array([1.0, 2.0, 3.0]), reference)
    assert effect["unit"] == "image" and effect["effect"] == pytest.approx(2.0)
    assert effect["p_value"] == pytest.approx(1 - math.sqrt(6 / 7), rel=1e-9)


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


# -- edge cases, each with its answer (they pin the branches mutation testing found unpinned) --------------------
def test_interval_edge_cases_by_hand() -> None:
    assert bootstrap_ci(np.array([0.4])) == (0.4, 0.4)  # one value: nothing to resample
    assert bootstrap_ci(np.full(5, 0.7)) == (0.7, 0.7)  # no spread
    low, high = bootstrap_ci(np.array([0.0, 1.0]))  # two values: resamples of means 0, 0.5, 1
    assert (low, high) == (0.0, 1.0)
    values = np.random.default_rng(5).normal(0, 1, 30)
    assert bootstrap_ci(values) == bootstrap_ci(values, seed=0) != bootstrap_ci(values, seed=1)  # default seed 0
    assert all(math.isnan(v) for v in t_interval(np.array([3.0])))
    half = 12.706205 * math.sqrt(2) / math.sqrt(2)  # t_{0.975, 1} * s / sqrt(n) for {1, 3}: s = sqrt 2
    assert t_interval(np.array([1.0, 3.0])) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))


def test_summary_counts_and_single_value_groups() -> None:
    frame = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 0], "model": "m", "explainer": ["e"] * 5 + ["f"],
                          "metric": "d", "sample": [0, 1, 2, 0, 1, 0], "value": [0.2, np.nan, 0.4, 0.6, np.nan, 0.5]})
    rows = summarise(frame, {"d": "lower"}).set_index("explainer")
    e, f = rows.loc["e"], rows.loc["f"]
    assert (e.n, e.n_failed, e.n_seeds) == (3, 2, 2) and e["mean"] == pytest.approx(0.4)
    assert e["std"] == pytest.approx(0.2) and e.seed_mean == pytest.approx((0.3 + 0.6) / 2)
    assert (f.n, f.n_failed, f["std"], f.n_seeds, f.seed_mean) == (1, 0, 0.0, 1, 0.5)  # one value: std 0, not NaN
    failed = summarise(frame.assign(value=np.nan), {"d": "lower"}).set_index("explainer").loc["e"]
    assert (failed.n, failed.n_failed, failed.n_seeds) == (0, 5, 0) and math.isnan(failed.seed_mean)


@pytest.mark.parametrize("shift,expected", [(0.25, (math.inf, 0.0)), (-0.25, (-math.inf, 0.0)), (0.0, (0.0, 1.0))])
def test_seed_unit_with_no_spread(shift: float, expected: tuple[float, float]) -> None:
    """Every seed shows the same difference: t is x/0; the sign and p follow the difference, 0 means no effect."""
    index = pd.MultiIndex.from_product([range(3), range(4)], names=["seed", "sample"])
    reference = pd.Series(np.linspace(0.1, 0.9, 12), index=index)
    effect = paired_effect(reference + shift, reference)
    assert effect["unit"] == "seed" and (effect["statistic"], effect["p_value"]) == expected


def test_unit_is_the_seed_from_three_seeds_on() -> None:
    for seeds, unit in ((2, "image"), (3, "seed"), (4, "seed")):
        index = pd.MultiIndex.from_product([range(seeds), range(5)], names=["seed", "sample"])
        values = pd.Series(np.random.default_rng(seeds).normal(0, 1, 5 * seeds), index=index)
        assert paired_effect(values + 0.1, values)["unit"] == unit


def test_better_side_follows_direction_and_unit() -> None:
    """Three seeds: 'better' is decided by the per-seed mean effect; lower-is-better flips the side. With one
    seed by the mean image difference too, even where the median has the opposite sign."""
    rows = []
    for seed in range(3):
        for sample in range(4):
            rows += [(seed, "ia-vit", "ia-vit", m, sample, 0.5) for m in ("deletion", "insertion")]
            rows += [(seed, "vit", "rollout", m, sample, 0.6) for m in ("deletion", "insertion")]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    tests = significance(frame, {"deletion": "lower", "insertion": "higher"}).set_index("metric")
    assert list(tests.index) == ["deletion", "insertion"] and (tests.unit == "seed").all()
    assert (tests.loc["deletion", "better"], tests.loc["insertion", "better"]) == ("reference", "method")
    # one seed, median and mean disagree: diffs -0.1 on 3 images, +0.9 on 1 (mean +0.15, median -0.1): the mean
    single = frame[frame.seed == 0].copy()
    rollout = (single.explainer == "rollout") & (single.metric == "insertion")
    single.loc[rollout, "value"] = [0.4, 0.4, 0.4, 1.4]
    row = significance(single, {"deletion": "lower", "insertion": "higher"}).set_index("metric").loc["insertion"]
    assert row.unit == "image" and row.mean_diff == pytest.approx(0.15) and row.better == "method"


def test_seed_unit_decides_by_the_mean_effect_not_the_median() -> None:
    """Three seeds whose per-seed mean differences are +0.3 while most images differ by -0.1: the seed unit
    judges by the mean (method better on a higher-is-better metric); the image median would say the opposite."""
    rows = []
    for seed in range(3):
        for sample in range(4):
            rows += [(seed, "ia-vit", "ia-vit", "insertion", sample, 0.5),
                     (seed, "vit", "rollout", "insertion", sample, 0.4 if sample < 3 else 2.1 + 0.1 * seed)]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    row = significance(frame, {"insertion": "higher"}).iloc[0]
    assert (row.model, row.explainer, row.unit) == ("vit", "rollout", "seed")
    assert row.mean_diff > 0 and row.better == "method"


def test_summary_rows_are_sorted_whatever_the_input_order() -> None:
    frame = pd.DataFrame({"seed": 0, "model": ["b", "a", "b", "a"], "explainer": ["y", "x", "x", "y"],
                          "metric": "d", "sample": 0, "value": [1.0, 2.0, 3.0, 4.0]})
    rows = summarise(frame, {"d": "higher"})
    assert list(zip(rows.model, rows.explainer)) == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    assert rows["mean"].tolist() == [2.0, 4.0, 3.0, 1.0]


def test_all_zero_scores_over_seeds_are_no_effect() -> None:
    """Means of exactly 0 leave a rounding tolerance of 0: still no spread, so t = 0, p = 1 (not scipy's NaN)."""
    index = pd.MultiIndex.from_product([range(3), range(4)], names=["seed", "sample"])
    zeros = pd.Series(0.0, index=index)
    effect = paired_effect(zeros, zeros.copy())
    assert (effect["unit"], effect["statistic"], effect["p_value"]) == ("seed", 0.0, 1.0)


def test_significant_means_p_holm_strictly_below_alpha(monkeypatch: pytest.MonkeyPatch) -> None:
    import iabench.reporting.summary as module

    def at(p: float):  # one real comparison (vit/rollout); the pivot's empty model x explainer columns have n = 0
        return lambda method, reference: dict(unit="image", n=int(method.notna().sum()), effect=0.1, ci_low=0.0,
                                              ci_high=0.2, statistic=1.0, p_value=p)

    rows = [(0, m, e, "d", s, 0.5) for m, e in (("ia-vit", "ia-vit"), ("vit", "rollout")) for s in range(5)]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    for p, significant in ((0.05, False), (0.0499, True)):
        monkeypatch.setattr(module, "paired_effect", at(p))
        row = significance(frame, {"d": "higher"}).iloc[0]
        assert (row.p_holm, row.significant) == (p, significant)


def test_equal_scores_are_a_tie_and_two_values_have_a_spread() -> None:
    rows = [(seed, model, explainer, "insertion", sample, 0.5 + 0.1 * sample)
            for seed in range(3) for sample in range(4) for model, explainer in (("ia-vit", "ia-vit"), ("vit", "cam"))]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    assert significance(frame, {"insertion": "higher"}).better.tolist() == ["tie"]  # zero effect: no side
    two = pd.DataFrame({"seed": [0, 0], "model": "m", "explainer": "e", "metric": "d", "sample": [0, 1],
                        "value": [0.2, 0.5]})
    assert summarise(two, {"d": "higher"})["std"].item() == pytest.approx(0.3 / math.sqrt(2))  # ddof 1
