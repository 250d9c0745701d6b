"""Kendall's tau-b, its permutation p and its two-stage bootstrap: against scipy, exact enumeration and the
Mahonian numbers (the count of permutations of n items with k inversions)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from iabench.stats.ranks import tau_b, tau_bootstrap, tau_permutation_p, two_stage_indices


def test_tau_b_equals_scipy_with_ties_and_vectorised() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 4, (50, 7)), rng.integers(0, 5, (50, 7))  # many ties
    expected = [stats.kendalltau(a, b).statistic for a, b in zip(first, second)]
    np.testing.assert_allclose(tau_b(first, second), expected, rtol=0, atol=1e-12)
    assert np.isnan(tau_b(np.ones(4), np.arange(4)))


def _enumerated_p(first: np.ndarray, second: np.ndarray) -> float:
    """By brute force with scipy: the share of the n! orders of ``first`` at least as concordant as it is."""
    observed = stats.kendalltau(first, second).statistic
    orders = itertools.permutations(range(first.size))
    taus = [stats.kendalltau(first[list(order)], second).statistic for order in orders]
    return float(np.mean(np.array(taus) >= observed - 1e-12))


@pytest.mark.parametrize("ranking, expected", [([0, 1, 2, 4, 3], 5 / 120), ([1, 0, 2, 4, 3], 14 / 120),
                                               ([0, 1, 2, 3, 4], 1 / 120), ([2, 2, 0, 1, 3], None)])
def test_permutation_p_for_5_items_matches_exact_enumeration(ranking: list[int], expected: float | None) -> None:
    """tau 0.8 (one inversion): 5 of the 120 orders have at most one (Mahonian 1 + 4); tau 0.6: 1 + 4 + 9 = 14
    (0.117, the random ranking's chance of tau >= 0.6 with 5 explainers); a tie: brute force only."""
    first, second = np.array(ranking, dtype=float), np.arange(5.0)
    p = tau_permutation_p([(first, second)], np.random.default_rng(0))
    assert p == pytest.approx(_enumerated_p(first, second), abs=1e-12)
    if expected is not None:
        assert p == pytest.approx(expected, abs=1e-12)


def test_permutation_p_of_a_mean_over_seeds_is_the_joint_enumeration() -> None:
    """Two seeds of 4 items: all 24 x 24 pairs of orders, the mean of their taus against the observed mean."""
    pairs = [(np.array([0.0, 1, 3, 2]), np.arange(4.0)), (np.array([1.0, 0, 2, 3]), np.array([0.0, 1, 2, 2]))]
    observed = np.mean([stats.kendalltau(a, b).statistic for a, b in pairs])
    orders = list(itertools.permutations(range(4)))
    means = [np.mean([stats.kendalltau(pairs[0][0][list(o)], pairs[0][1]).statistic,
                      stats.kendalltau(pairs[1][0][list(q)], pairs[1][1]).statistic]) for o in orders for q in orders]
    expected = np.mean(np.array(means) >= observed - 1e-12)
    assert tau_permutation_p(pairs, np.random.default_rng(0)) == pytest.approx(expected, abs=1e-12)


def _mahonian(n: int) -> np.ndarray:
    """Counts of the permutations of n items by number of inversions."""
    counts = np.array([1])
    for k in range(2, n + 1):
        counts = np.convolve(counts, np.ones(k, dtype=int))
    return counts


def test_permutation_p_above_exact_size_samples_the_mahonian_distribution() -> None:
    """12 items (Monte Carlo): with no ties tau = 1 - 4 inv / (n (n - 1)), so tau >= the observed tau of a ranking
    with 15 inversions (0.545) means at most 15 inversions: the Mahonian numbers give the exact share."""
    n, draws = 12, 40_000
    ranking = np.array([5.0, 4, 3, 2, 1, 0, 6, 7, 8, 9, 10, 11])  # the first six reversed: 15 inversions
    assert stats.kendalltau(ranking, np.arange(n)).statistic == pytest.approx(1 - 4 * 15 / (n * (n - 1)))
    counts = _mahonian(n)
    exact = counts[:15 + 1].sum() / counts.sum()
    p = tau_permutation_p([(ranking, np.arange(n, dtype=float))], np.random.default_rng(1), draws)
    assert abs(p - exact) < 4 * np.sqrt(exact * (1 - exact) / draws)  # within 4 standard errors


def test_two_stage_bootstrap_resamples_seeds_then_images() -> None:
    rng = np.random.default_rng(0)
    draw = two_stage_indices([3, 5], rng)
    assert len(draw) == 2 and all(len(i) == (3, 5)[s] and i.max() < (3, 5)[s] for s, i in draw)
    # images all alike within a seed: the interval is the seed bootstrap of taus +1 and -1 (means -1, 0, +1)
    up, down = np.arange(4.0)[:, None].repeat(6, 1), np.arange(4.0)[::-1, None].repeat(6, 1)
    low, high = tau_bootstrap([up, up], [up, down], rng)
    assert (low, high) == (-1.0, 1.0)
    # one seed whose images all rank alike: no spread at all
    assert tau_bootstrap([up], [up], rng) == (1.0, 1.0)
