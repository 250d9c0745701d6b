"""Kendall's tau-b between two rankings, its permutation p and its two-stage bootstrap interval.

- ``tau_b``: Kendall's tau-b (Kendall 1945; ``scipy.stats.kendalltau``'s default variant), vectorised over leading
  axes so that thousands of resampled rankings cost one array operation (scipy takes one pair per call).
- ``tau_permutation_p``: the chance that random orderings reach the observed mean tau over seeds (one ordering per
  seed, each seed's first ranking permuted against its second). Exact by enumeration while every seed has at most
  ``EXACT_ITEMS`` items (n! orders each, combined over seeds by convolution); Monte Carlo above, (1 + hits) /
  (1 + draws) (Phipson & Smyth 2010), so that p is never 0.
- ``tau_bootstrap``: a two-stage percentile bootstrap (Davison & Hinkley 1997, Sec. 3.8): seeds resampled with
  replacement, then images within each drawn seed, the same images for both rankings; each resample's mean tau
  over its seeds. With one seed it is the image bootstrap alone.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

EXACT_ITEMS = 8  # 8! = 40,320 orders per seed
DRAWS = 20_000
RESAMPLES = 1000
ROUND = 12  # decimals kept when tau values are pooled (ties of the same value must pool)


def tau_b(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Kendall's tau-b over the last axis: sum of sign products over pairs / sqrt(untied pairs in each); NaN when
    either ranking is constant."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    upper = np.triu_indices(a.shape[-1], 1)
    sa = np.sign(a[..., :, None] - a[..., None, :])[..., upper[0], upper[1]]
    sb = np.sign(b[..., :, None] - b[..., None, :])[..., upper[0], upper[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sa * sb).sum(-1) / np.sqrt((sa * sa).sum(-1) * (sb * sb).sum(-1))


def _exact_null(first: np.ndarray, second: np.ndarray) -> Counter:
    """tau (rounded) -> the number of the n! orders of ``first`` that give it against ``second``."""
    orders = np.array(list(itertools.permutations(range(first.size))))
    return Counter(np.round(tau_b(first[orders], second), ROUND).tolist())


def _convolved(nulls: list[Counter]) -> Counter:
    """The null distribution of the sum of independent taus, as (sum -> count)."""
    total: Counter = Counter({0.0: 1})
    for null in nulls:
        step: Counter = Counter()
        for (s, m), (t, n) in itertools.product(total.items(), null.items()):
            step[round(s + t, ROUND)] += m * n
        total = step
    return total


def tau_permutation_p(pairs: Sequence[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
                      draws: int = DRAWS) -> float:
    """One-sided p of the mean tau over ``pairs`` (one (first, second) per seed, each at least 3 items): the share of
    random orderings, independent per seed, whose mean tau is at least the observed one. NaN without pairs."""
    pairs = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in pairs]
    if not pairs:
        return math.nan
    observed = round(sum(float(tau_b(a, b)) for a, b in pairs), ROUND)
    if max(a.size for a, _ in pairs) <= EXACT_ITEMS:
        null = _convolved([_exact_null(a, b) for a, b in pairs])
        hits = sum(n for s, n in null.items() if s >= observed - 10 ** -ROUND)
        return hits / sum(null.values())
    total = np.zeros(draws)
    for a, b in pairs:
        orders = rng.permuted(np.broadcast_to(a, (draws, a.size)), axis=1)
        total += np.nan_to_num(tau_b(orders, b))
    return float((1 + (total >= observed - 1e-9).sum()) / (1 + draws))


def two_stage_indices(images: Sequence[int], rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """One two-stage resample: (seed position, image positions) per drawn seed."""
    seeds = rng.integers(0, len(images), len(images))
    return [(int(s), rng.integers(0, images[s], images[s])) for s in seeds]


def two_stage_interval(statistic: Callable[[list[tuple[int, np.ndarray]]], float], images: Sequence[int],
                       rng: np.random.Generator, resamples: int = RESAMPLES) -> tuple[float, float]:
    """The 95 % percentile interval of ``statistic`` over two-stage resamples (``two_stage_indices``) of seeds
    holding ``images[i]`` images each; NaN when every resample's statistic is NaN."""
    values = np.array([statistic(two_stage_indices(images, rng)) for _ in range(resamples)], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def tau_bootstrap(protocol: Sequence[np.ndarray], truth: Sequence[np.ndarray], rng: np.random.Generator,
                  resamples: int = RESAMPLES) -> tuple[float, float]:
    """95 % two-stage interval of the mean tau over seeds; ``protocol[i]``/``truth[i]``: seed i's (items, images)
    scores, oriented higher = better, on the same images."""
    def mean_tau(draw: list[tuple[int, np.ndarray]]) -> float:
        taus = [tau_b(np.nanmean(protocol[s][:, i], 1), np.nanmean(truth[s][:, i], 1)) for s, i in draw]
        return float(np.nanmean(taus)) if np.isfinite(taus).any() else math.nan
    return two_stage_interval(mean_tau, [p.shape[1] for p in protocol], rng, resamples)
