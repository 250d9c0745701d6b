"""The Quantus adapter (metrics/_quantus.py) on what the parity tests leave at one value: MPRT's per-layer
output, options passed on or held back, and which maps are scored NaN instead of by Quantus."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import quantus
import torch
from support import gradient_explain

from iabench.metrics import create_metric
from iabench.metrics._quantus import numpy_explain_func
from iabench.models import create_model, get_preset
from iabench.seeding import numpy_seeded_by


@pytest.fixture(scope="module")
def scored() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = create_model("vit", get_preset("vit-tiny-fmnist").model).eval()
    generator = torch.Generator().manual_seed(1)
    images, targets = torch.randn(3, 1, 28, 28, generator=generator), torch.tensor([0, 3, 7])
    return model, images, targets, torch.rand(3, 28, 28, generator=generator)


def _quantus(cls: str, options: dict, model, images, targets, saliency, **call) -> object:
    metric = getattr(quantus, cls)(**options, disable_warnings=True, display_progressbar=False)
    return metric(model=model, x_batch=images.numpy(), y_batch=targets.numpy(), a_batch=saliency.numpy()[:, None],
                  channel_first=True, device="cpu", **call)


def test_mprt_per_layer_output_scores_the_last_layer(scored) -> None:
    """With ``return_last_correlation=False`` Quantus returns {layer: scores}, the unchanged model first;
    the score is the fully randomised model's, the dictionary's last entry."""
    model, images, targets, _ = scored
    saliency = gradient_explain(model, images, targets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        ours = create_metric("mprt", return_last_correlation=False)(model, images, targets, saliency,
                                                                    explain_fn=gradient_explain).scores
        torch.manual_seed(0)
        layers = _quantus("MPRT", {"skip_layers": True, "return_last_correlation": False}, model, images, targets,
                          saliency, explain_func=numpy_explain_func(gradient_explain, torch.device("cpu")),
                          explain_func_kwargs={})
    assert list(layers)[0] == "original" and len(layers) == 2
    np.testing.assert_allclose(ours, np.asarray(list(layers.values())[-1], dtype=float), rtol=1e-6)
    assert not np.allclose(ours, np.asarray(layers["original"], dtype=float))


def test_options_reach_quantus_and_max_batch_does_not(scored) -> None:
    model, images, targets, saliency = scored
    # an option whose name sorts after "max_batch" is passed on: 5 runs on subsets of 50 pixels
    ours = create_metric("faithfulness-correlation", nr_runs=5, subset_size=50)(model, images, targets, saliency)
    with numpy_seeded_by(images, targets):  # the draws Quantus makes under our adapter
        direct = _quantus("FaithfulnessCorrelation", {"nr_runs": 5, "subset_size": 50, "return_aggregate": False},
                          model, images, targets, saliency)
    np.testing.assert_allclose(ours.scores, np.asarray(direct, dtype=float), rtol=1e-6)
    # max_batch is ours, never Quantus': held back even when the key is built at run time (read from a file)
    key = "".join(["max_", "batch"])
    held_back = create_metric("sparseness", **{key: 8})(model, images, targets, saliency).scores
    np.testing.assert_array_equal(held_back, create_metric("sparseness")(model, images, targets, saliency).scores)


def test_a_negative_map_is_scored_by_quantus_not_skipped(scored) -> None:
    """Only an all-zero map scores NaN in metrics that keep Quantus' value for constant maps. (Quantus
    refuses a batch whose values are all negative, so only one of the three maps is.)"""
    model, images, targets, saliency = scored
    negative = saliency.clone()
    negative[1] -= 2.0  # every value of the second map below zero, not constant
    ours = create_metric("sparseness")(model, images, targets, negative).scores
    direct = _quantus("Sparseness", {}, model, images, targets, negative)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6)


def test_max_sensitivity_uses_its_documented_defaults() -> None:
    """10 re-explanations (Quantus' own default is 200) within a uniform noise radius of 0.2."""
    built = create_metric("max-sensitivity").build()
    assert (built.nr_samples, built.perturb_func.keywords["lower_bound"]) == (10, 0.2)
    assert create_metric("max-sensitivity", nr_samples=3).build().nr_samples == 3


def test_mprt_explains_only_the_fully_randomised_model_by_default() -> None:
    """skip_layers: one re-explanation per image, not one per layer (the score is the same, the cost is not)."""
    built = create_metric("mprt").build()
    assert built.skip_layers is True and built.return_last_correlation is True


def test_region_perturbation_regions_are_the_vits_patch_else_quantus_default(scored) -> None:
    model, images, _, _ = scored
    metric = create_metric("region-perturbation")
    assert metric.call_defaults(model, images) == {"patch_size": 4}  # the 28 px default ViT's 4 px patches
    convolutional = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten())
    assert metric.call_defaults(convolutional, images) == {"patch_size": 8}  # not a ViT: Quantus' default


def test_road_removes_the_documented_percentages() -> None:
    assert create_metric("road").build().percentages == [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]


@pytest.mark.parametrize("name", ["sparseness", "complexity"])
def test_maps_quantus_refuses_as_a_batch_score_as_in_a_mixed_batch(scored, name: str) -> None:
    """Quantus refuses a batch whose maps are all negative or all one value, yet scores the same maps beside
    others: a batch of them scores what each scores in a mixed batch (no crash, no dependence on the batch)."""
    model, images, targets, saliency = scored
    negative = -saliency[:2]
    constant = torch.full((2, 28, 28), 0.5)
    for refused in (negative, constant):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the constant maps' warning
            alone = create_metric(name)(model, images[:2], targets[:2], refused).scores
            mixed = create_metric(name)(model, images, targets, torch.cat([refused, saliency[2:]])).scores
        assert np.isfinite(alone).all()
        np.testing.assert_allclose(alone, mixed[:2], rtol=1e-6)
    with pytest.warns(RuntimeWarning, match="constant"):
        gini = create_metric("sparseness")(model, images[:2], targets[:2], constant).scores
    assert gini.tolist() == [0.0, 0.0]  # the Gini index of a constant map


def test_negative_maps_in_localisation_and_road(scored) -> None:
    model, images, targets, saliency = scored
    masks = torch.zeros(3, 28, 28, dtype=torch.bool)
    masks[:, 6:18, 10:22] = True
    negative = saliency - 2.0
    alone = create_metric("relevance-rank-accuracy")(model, images, targets, negative, masks=masks).scores
    direct = _quantus("RelevanceRankAccuracy", {}, model, torch.cat([images, images[:1]]),
                      torch.cat([targets, targets[:1]]), torch.cat([negative, saliency[:1]]),
                      s_batch=torch.cat([masks, masks[:1]]).numpy()[:, None].astype(np.float32))
    np.testing.assert_allclose(alone, np.asarray(direct, dtype=float)[:3], rtol=1e-6)
    with pytest.warns(RuntimeWarning, match="no positive value"):  # ROAD scores each map alone: NaN
        road = create_metric("road", percentages=[50])(model, images[:2], targets[:2], negative[:2]).scores
    assert np.isnan(road).all()


def test_quantus_draws_are_seeded_by_the_images_and_leave_numpy_as_it_was(scored) -> None:
    """FaithfulnessCorrelation draws its pixel subsets from numpy's global generator: under the adapter the same
    images give the same scores whatever that generator's state, and the state is as the caller left it."""
    model, images, targets, saliency = scored
    metric = create_metric("faithfulness-correlation", nr_runs=5, subset_size=50)
    np.random.seed(1)
    expected_next = np.random.random()
    np.random.seed(1)
    first = metric(model, images, targets, saliency).scores
    assert np.random.random() == expected_next
    np.random.seed(12345)
    np.testing.assert_array_equal(metric(model, images, targets, saliency).scores, first)
    np.random.seed(12345)  # unseeded, Quantus' subsets (and scores) follow the global state
    unseeded = _quantus("FaithfulnessCorrelation", {"nr_runs": 5, "subset_size": 50, "return_aggregate": False},
                        model, images, targets, saliency)
    assert not np.allclose(first, np.asarray(unseeded, dtype=float))
