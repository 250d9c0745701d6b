"""Whether a score separates the explainers beyond the noise of its images and seeds.

Every explainer is scored on the same images of the same seeds' models: a balanced layout y[e, s, i] (explainer e
fixed; seed s random; image i random, nested in the seed). Its sums of squares split the variance of the scores
into three named shares:
- ``explainer_share``: between the explainers' means (SS_e);
- ``seed_share``: between seeds, the seeds' own level and how they reorder the explainers (SS_s + SS_es);
- ``image_share``: between images within a seed and the explainer x image interaction (SS_i(s) + SS_ei(s)).
The explainers differ beyond that noise when F is large (expected mean squares of the mixed model: Montgomery,
*Design and Analysis of Experiments*, 8th ed., Sec. 14.1 and 13.3):
- with >= 2 seeds, F = MS_e / MS_es on (E - 1, (E - 1)(S - 1)) degrees of freedom: seeds are the replicate, as in
  the verdict;
- with one seed, F = MS_e / MS_ei on (E - 1, (E - 1)(I - 1)): the randomised complete block design, images the
  blocks.
With two explainers each F is the square of the paired t over seeds' means (or over images), which the tests check
against ``scipy.stats.ttest_rel``. By hand: scipy has no two-way ANOVA, statsmodels is not a dependency, and the
layout is a few sums.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .holm import holm

SEPARATION_KEYS = ("explainer_share", "seed_share", "image_share", "f", "df1", "df2", "p_value")  # separation()


def separation(scores: np.ndarray) -> dict[str, float]:
    """``SEPARATION_KEYS`` of a (explainers, seeds, images) array of scores without NaN; NaN for fewer than 2
    explainers, or 2 images with one seed."""
    y = np.asarray(scores, dtype=float)
    e, s, i = y.shape
    if e < 2 or i < 1 or (s < 2 and i < 2):
        return {k: math.nan for k in SEPARATION_KEYS}
    grand = y.mean()
    m_e, m_s, m_es = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=2)
    m_si = y.mean(axis=0)  # (seeds, images): each image's level within its seed
    ss_e = s * i * ((m_e - grand) ** 2).sum()
    ss_s = e * i * ((m_s - grand) ** 2).sum()
    ss_es = i * ((m_es - m_e[:, None] - m_s[None, :] + grand) ** 2).sum()
    ss_image = e * ((m_si - m_s[:, None]) ** 2).sum()
    ss_rest = ((y - m_es[:, :, None] - m_si[None] + m_s[None, :, None]) ** 2).sum()
    total = ((y - grand) ** 2).sum()
    if s >= 2:
        df1, df2, denominator = e - 1, (e - 1) * (s - 1), ss_es
    else:
        df1, df2, denominator = e - 1, (e - 1) * (i - 1), ss_rest
    ms_e, ms_noise = ss_e / df1, denominator / df2
    scale = max(1.0, float(np.abs(y).max()))
    if ms_noise <= (1e-12 * scale) ** 2:  # noise-free: separated exactly when the means differ at all
        f, p = (math.inf, 0.0) if ss_e > (1e-12 * scale) ** 2 else (math.nan, math.nan)
    else:
        f = ms_e / ms_noise
        p = float(stats.f.sf(f, df1, df2))
    shares = (ss_e / total, (ss_s + ss_es) / total, (ss_image + ss_rest) / total) if total > 0 else (math.nan,) * 3
    return dict(explainer_share=float(shares[0]), seed_share=float(shares[1]), image_share=float(shares[2]),
                f=float(f), df1=float(df1), df2=float(df2), p_value=p)


def resolved_pairs(scores: np.ndarray, alpha: float) -> float:
    """The share of explainer pairs a score orders beyond its noise: each pair's paired t test (on the seeds' means
    with >= 2 seeds, as the F test, else on the images), Holm over the pairs, below ``alpha``; NaN for fewer than 2
    explainers."""
    y = np.asarray(scores, dtype=float)
    units = y.mean(axis=2) if y.shape[1] >= 2 else y[:, 0, :]  # (explainers, replicates)
    if units.shape[0] < 2 or units.shape[1] < 2:
        return math.nan
    p = []
    for a in range(len(units)):
        for b in range(a + 1, len(units)):
            d = units[a] - units[b]
            spread = d.std(ddof=1)
            scale = 1e-12 * max(1.0, float(np.abs(units).max()))
            p.append(float(stats.ttest_1samp(d, 0.0).pvalue) if spread > scale else (0.0 if abs(d.mean()) > scale
                                                                                    else 1.0))
    return float(np.mean(holm(np.array(p)) < alpha))
