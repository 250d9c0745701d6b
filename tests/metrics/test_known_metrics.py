"""Every faithfulness and localisation metric on a model whose right answer is known: the perfect map
scores better than its inverse and than a random map, in the direction the metric declares."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from support import LinearEvidence  # logit_1 = sum of w * x: the evidence of pixel p is w_p * x_p
from torch import nn

from iabench.metrics import METRICS, create_metric


@pytest.fixture(scope="module")
def case() -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    weights = torch.randn(28, 28, generator=gen) * 0.05 + 0.004  # class 1 predicted on most images
    images = torch.rand(6, 1, 28, 28, generator=gen)
    evidence = images[:, 0] * weights
    noise = torch.rand(6, 28, 28, generator=gen)
    return LinearEvidence(weights), images, torch.ones(6, dtype=torch.long), evidence, noise


FAITHFULNESS = {
    "insertion": {}, "deletion": {}, "morf": {"patch_size": 4}, "lerf": {"patch_size": 4},
    "pixel-flipping": {}, "region-perturbation": {"patch_size": 4}, "faithfulness-correlation": {},
    "monotonicity-correlation": {}, "irof": {}, "road": {},
}


def _mean_score(name: str, options: dict, case, saliency: torch.Tensor) -> float:
    model, images, targets, _, _ = case
    np.random.seed(0)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.nanmean(create_metric(name, **options)(model, images, targets, saliency).scores))


# Quantus' MonotonicityCorrelation correlates |attribution| with the effect (abs=True, as Nguyen & Martinez
# 2020 rank by magnitude): -evidence is as good as evidence there, so its "inverse" reverses the magnitudes.
BY_MAGNITUDE = {"monotonicity-correlation"}


@pytest.mark.parametrize("name", sorted(FAITHFULNESS))
def test_perfect_map_beats_its_inverse_and_random(case, name: str) -> None:
    direction = METRICS.get(name).direction
    sign = 1.0 if direction == "higher" else -1.0  # better = larger after the sign
    evidence, noise = case[3], case[4]
    inverse = evidence.abs().amax() - evidence.abs() if name in BY_MAGNITUDE else -evidence
    perfect, worst, random = (sign * _mean_score(name, FAITHFULNESS[name], case, s)
                              for s in (evidence, inverse, noise))
    assert perfect > random and perfect > worst, (perfect, random, worst)


SPARSITY = {"sparseness": "higher", "complexity": "lower"}
# checked elsewhere against hand computations or a direct Quantus call (test_diagnostics, test_metrics)
ELSEWHERE = {"accuracy", "agreement", "entropy", "foreground-mass", "rank-correlation", "max-sensitivity", "mprt",
             "random-logit", "conservation"}


LOCALISATION = ["auc", "pointing-game", "relevance-mass-accuracy", "relevance-rank-accuracy", "evidence-auc",
                "evidence-pointing"]


@pytest.mark.parametrize("name", LOCALISATION)
def test_localisation_of_the_mask_beats_its_inverse_and_random(case, name: str) -> None:
    """The mask itself (plus a little noise to break ties) localises perfectly; 1 - mask never does."""
    model, images, targets, _, noise = case
    masks = torch.zeros(6, 28, 28, dtype=torch.bool)
    masks[:, 4:16, 8:20] = True
    metric = create_metric(name)
    perfect, inverse, random = (float(np.mean(metric(model, images, targets, s, masks=masks).scores))
                                for s in (masks.float() + 0.01 * noise, 1 - masks.float() + 0.01 * noise, noise))
    assert METRICS.get(name).direction == "higher"
    assert perfect > 0.95 and perfect > random > inverse, (perfect, random, inverse)


@pytest.mark.parametrize("name", sorted(SPARSITY))
def test_one_pixel_map_is_sparser_than_a_uniform_one(case, name: str) -> None:
    """Sparseness (Gini index, Chalasani et al. 2020) and complexity (entropy, Bhatt et al. 2020): a
    one-hot map is as sparse and simple as a map can be, a flat one is neither."""
    model, images, targets, _, noise = case
    one_hot = torch.zeros(6, 28, 28)
    one_hot[:, 10, 12] = 1.0
    metric = create_metric(name)
    sparse, dense = (float(np.mean(metric(model, images, targets, s).scores)) for s in (one_hot, 1 + 0.01 * noise))
    assert METRICS.get(name).direction == SPARSITY[name]
    assert (sparse > dense) == (SPARSITY[name] == "higher"), (sparse, dense)


def test_every_registered_metric_has_a_known_answer_test() -> None:
    """A new metric must join one of the lists above (and so a known-answer test)."""
    covered = set(FAITHFULNESS) | set(LOCALISATION) | set(SPARSITY) | ELSEWHERE
    assert set(METRICS.names()) == covered, set(METRICS.names()) ^ covered
