"""Where an effect's uncertainty comes from: training seeds or test images (a crossed seed x image design).

Every seed's model is scored on the same images, so the paired differences d[s, i] (method - reference) form a
balanced two-way layout without replication: d = mu + a_s + b_i + e_si, with seed effects a (variance v_seed),
image effects b (v_image) and the seed x image interaction with noise e (v_rest). The components are the
two-way ANOVA moment estimators (Searle, Casella & McCulloch 1992, *Variance Components*, Sec. 4.5), negative
estimates set to 0:
    v_rest = MS_residual,  v_seed = (MS_seed - MS_residual) / I,  v_image = (MS_image - MS_residual) / S.
By hand: the moment estimators are a few lines of NumPy, and statsmodels' MixedLM (REML) tends to put the seed
variance at 0 with few seeds, which understates it. What a reader gets is their share of the variance of the
mean effect over S seeds and I images, v_seed / S + v_image / I + v_rest / (S I): where the scores vary. It is
not what would narrow the verdict's interval: with seeds as the unit the images are held fixed, so the interval
over seeds has variance (v_seed + v_rest / I) / S; v_image never enters it, and more seeds narrow it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SHARES = ("seed_share", "image_share", "rest_share")


def components(diff: np.ndarray) -> dict[str, float]:
    """v_seed, v_image, v_rest of a (seeds, images) matrix of differences, and the shares of the variance of
    its grand mean (``SHARES``); NaN with fewer than 2 seeds or 2 images."""
    diff = np.asarray(diff, dtype=float)
    seeds, images = diff.shape
    if seeds < 2 or images < 2:
        return dict(v_seed=math.nan, v_image=math.nan, v_rest=math.nan, **{k: math.nan for k in SHARES})
    grand = diff.mean()
    seed_means, image_means = diff.mean(axis=1), diff.mean(axis=0)
    ms_seed = images * ((seed_means - grand) ** 2).sum() / (seeds - 1)
    ms_image = seeds * ((image_means - grand) ** 2).sum() / (images - 1)
    residual = diff - seed_means[:, None] - image_means[None, :] + grand
    ms_rest = (residual ** 2).sum() / ((seeds - 1) * (images - 1))
    v_seed, v_image, v_rest = max(0.0, (ms_seed - ms_rest) / images), max(0.0, (ms_image - ms_rest) / seeds), ms_rest
    parts = np.array([v_seed / seeds, v_image / images, v_rest / (seeds * images)])
    total = parts.sum()
    # differences equal up to float rounding leave components of ~(1e-16 x the values)², not 0: no shares then
    rounding = (1e-12 * max(1.0, float(np.abs(diff).max()))) ** 2
    shares = parts / total if total > rounding else np.full(3, math.nan)
    return dict(v_seed=float(v_seed), v_image=float(v_image), v_rest=float(v_rest),
                **{k: float(v) for k, v in zip(SHARES, shares)})


def crossed_shares(paired: pd.DataFrame) -> dict[str, float]:
    """``components`` of the differences m - r of a paired frame indexed by (seed, sample), on the images every
    seed scored (the balanced part of the design)."""
    diff = (paired["m"] - paired["r"]).unstack(level=1)
    return components(diff.dropna(axis=1).to_numpy(dtype=float))
