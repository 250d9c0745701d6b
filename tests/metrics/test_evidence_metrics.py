"""The ground-truth scores, per pixel and per patch of the model's grid: hand-computed answers on tiny maps, and the
pixel level against Quantus (``AUC`` and ``PointingGame`` with ``abs=True``) and scikit-learn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.data import DataBundle
from iabench.errors import UserError
from iabench.metrics import create_metric
from iabench.models import create_model
from iabench.pipeline.plan import fit_metrics, scores_maps_of


@pytest.fixture
def grid2x2(micro_config):
    """A ViT on 8x8 images with 4px patches: a 2x2 grid, patches in raster order."""
    return create_model("vit", dataclasses.replace(micro_config, img_size=8)).eval()


def _score(name: str, model, saliency, masks, **options) -> np.ndarray:
    images = torch.zeros(saliency.shape[0], 1, *saliency.shape[-2:])
    return create_metric(name, **options)(model, images, torch.zeros(saliency.shape[0], dtype=torch.long), saliency,
                                          masks=masks)


def _hand_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Patch sums of |s| 4, 3, 2, 1 (one pixel per patch, signs mixed); evidence shares 1, 1/2, 0, 0."""
    saliency = torch.zeros(1, 8, 8)
    saliency[0, 1, 1], saliency[0, 2, 6], saliency[0, 5, 2], saliency[0, 7, 7] = 4.0, -3.0, 2.0, -1.0
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, :4, :4] = True  # patch 0, whole
    masks[0, :2, 4:] = True  # patch 1, half (not the pixel at (2, 6))
    return saliency, masks


def test_evidence_mass_per_patch_by_hand(grid2x2) -> None:
    saliency, masks = _hand_case()
    # per patch: mass share on evidence (4*1 + 3*0.5) / 10 = 0.55; chance = mean share (1 + 0.5) / 4 = 0.375
    patch = _score("foreground-mass", grid2x2, saliency, masks, unit="patch")
    assert patch.scores[0] == pytest.approx(0.55 / 0.375, abs=1e-12)
    # per pixel: only the 4 lies on evidence: 4/10 of the mass over an evidence share of 24/64
    pixel = _score("foreground-mass", grid2x2, saliency, masks)
    assert pixel.scores[0] == pytest.approx(0.4 / (24 / 64), abs=1e-12)


def test_a_map_constant_in_each_patch_has_one_mass_at_both_resolutions(grid2x2) -> None:
    generator = torch.Generator().manual_seed(0)
    patches = torch.rand(5, 1, 2, 2, generator=generator)
    saliency = torch.nn.functional.interpolate(patches, scale_factor=4, mode="nearest")[:, 0]
    masks = torch.rand(5, 8, 8, generator=generator) > 0.6
    pixel = _score("foreground-mass", grid2x2, saliency, masks).scores
    np.testing.assert_allclose(_score("foreground-mass", grid2x2, saliency, masks, unit="patch").scores, pixel,
                               rtol=1e-12)


def test_evidence_auc_per_patch_by_hand(grid2x2) -> None:
    saliency, masks = _hand_case()
    # positives: patch 0 (weight 1, score 4), patch 1 (1/2, 3); negatives: patch 1 (1/2, 3), 2 (1, 2), 3 (1, 1).
    # pairs won: 0 beats all negatives (1/2 + 1 + 1), 1 ties itself (1/2 * 1/2 * 1/2) and beats 2 and 3 (1/2 + 1/2)
    expected = (0.5 + 1 + 1 + 0.125 + 0.5 + 0.5) / (1.5 * 2.5)
    assert _score("evidence-auc", grid2x2, saliency, masks, unit="patch").scores[0] == pytest.approx(expected,
                                                                                                         abs=1e-12)


def test_evidence_auc_per_pixel_is_quantus_auc_of_the_magnitude(micro_config) -> None:
    model = create_model("vit", micro_config).eval()
    generator = torch.Generator().manual_seed(1)
    saliency = torch.randn(6, 16, 16, generator=generator)
    masks = torch.rand(6, 16, 16, generator=generator) > 0.7
    ours = _score("evidence-auc", model, saliency, masks).scores
    quantus = _score("auc", model, saliency, masks, abs=True).scores
    np.testing.assert_allclose(ours, quantus, atol=1e-6)  # Quantus rescales the map in float32
    sklearn = [roc_auc_score(m.flatten().numpy(), s.abs().flatten().numpy()) for s, m in zip(saliency, masks)]
    np.testing.assert_allclose(ours, sklearn, atol=1e-12)
    assert not np.allclose(ours, _score("auc", model, saliency, masks).scores, atol=1e-3)  # signed differs


def test_evidence_pointing_per_pixel_is_quantus_pointing_game_of_the_magnitude(micro_config) -> None:
    model = create_model("vit", micro_config).eval()
    generator = torch.Generator().manual_seed(2)
    pixel_maps = torch.randn(8, 16, 16, generator=generator)
    patch_maps = torch.nn.functional.interpolate(torch.randn(8, 1, 4, 4, generator=generator), scale_factor=4)[:, 0]
    saliency = torch.cat([pixel_maps, patch_maps])  # patch maps tie 16 pixels at their maximum
    masks = torch.rand(16, 16, 16, generator=generator) > 0.8
    ours = _score("evidence-pointing", model, saliency, masks).scores
    np.testing.assert_array_equal(ours, _score("pointing-game", model, saliency, masks, abs=True).scores)
    assert 0 < ours.mean() < 1


def test_evidence_pointing_per_patch_by_hand(grid2x2) -> None:
    saliency, masks = _hand_case()
    assert _score("evidence-pointing", grid2x2, saliency, masks, unit="patch").scores[0] == 1.0
    saliency[0, 7, 7] = 9.0  # now patch 3, which holds no evidence, has the largest mass
    assert _score("evidence-pointing", grid2x2, saliency, masks, unit="patch").scores[0] == 0.0
    masks[0, 6, 6] = True  # one evidence pixel in patch 3, not where the map points within it
    assert _score("evidence-pointing", grid2x2, saliency, masks, unit="patch").scores[0] == 1.0
    assert _score("evidence-pointing", grid2x2, saliency, masks).scores[0] == 0.0  # per pixel it misses


def test_the_oracle_is_the_mask_and_scores_the_ceiling(grid2x2) -> None:
    _, masks = _hand_case()
    images = torch.randn(1, 1, 8, 8)
    oracle = create_explainer("evidence-oracle", grid2x2)
    saliency = oracle.attribute(images, None, masks)
    assert torch.equal(saliency, masks.float())
    for resolution in ("pixel", "patch"):
        assert _score("evidence-pointing", grid2x2, saliency, masks, unit=resolution).scores[0] == 1.0
    assert _score("evidence-auc", grid2x2, saliency, masks).scores[0] == 1.0
    # per patch the half-covered patch is half positive, half negative: it ties with itself, so even the oracle
    # stays below 1 (patch sums 16, 8, 0, 0 rank as the hand case's 4, 3, 2, 1 bar the tie of the last two)
    ceiling = (0.5 + 1 + 1 + 0.125 + 0.5 + 0.5) / (1.5 * 2.5)
    assert _score("evidence-auc", grid2x2, saliency, masks, unit="patch").scores[0] == pytest.approx(ceiling,
                                                                                                        abs=1e-12)
    # all its mass on evidence: 1 / (the evidence's share) per pixel, (24/24) / mean share 0.375 per patch
    assert _score("foreground-mass", grid2x2, saliency, masks).scores[0] == pytest.approx(64 / 24, abs=1e-12)
    patch = _score("foreground-mass", grid2x2, saliency, masks, unit="patch").scores[0]
    assert patch == pytest.approx((16 * 1 + 8 * 0.5) / 24 / 0.375, abs=1e-12)
    with pytest.raises(ValueError, match="evidence-oracle needs the ground-truth masks"):
        oracle.attribute(images)


def test_an_oracle_needs_data_with_masks_and_is_never_explained_again() -> None:
    oracle = EXPLAINERS.get("evidence-oracle")
    bundle = DataBundle("fashion-mnist", [], [], [], 10, 1, 28, [0.0], [1.0])
    with pytest.raises(UserError, match="explainer evidence-oracle reads ground-truth masks but dataset "
                                        "'fashion-mnist' has none"):
        fit_metrics({}, bundle, "s", {"evidence-oracle": oracle})
    assert not scores_maps_of(create_metric("max-sensitivity"), oracle)  # it re-explains: no masks for that
    assert scores_maps_of(create_metric("evidence-auc"), oracle) and scores_maps_of(create_metric("deletion"), oracle)
