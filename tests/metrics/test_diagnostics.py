"""Diagnostic metrics (entropy, foreground-mass, rank-correlation): hand-computed known answers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import timm
import torch
from scipy.stats import spearmanr
from torch import nn

from iabench.baselines import EXPLAINERS, BoundExplainer, create_explainer
from iabench.errors import OptionError, UserError
from iabench.metrics import METRICS, create_metric
from iabench.models import create_model, get_preset
from iabench.suites import load_suite

SIDE, PATCH = 28, 4  # the tiny preset: 28px images, 4px patches, a 7x7 grid


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("ia-vit", get_preset("vit-tiny-fmnist").model).eval()


@pytest.fixture(scope="module")
def timm_vit() -> nn.Module:
    """A bare timm ViT with 7px patches (a 4x4 grid), so a hard-coded patch size of 4 would show."""
    return timm.create_model("vit_tiny_patch16_224", img_size=SIDE, patch_size=7, in_chans=1, num_classes=10,
                             embed_dim=32, depth=1, num_heads=2).eval()


class RankCorrelation:
    """A rank-correlation metric called as the runner calls it: with a handle on its reference explainer."""

    def __init__(self, **options: object) -> None:
        self.metric = create_metric("rank-correlation", **options)

    def __getattr__(self, name: str) -> object:
        return getattr(self.metric, name)

    def __call__(self, *args: object, **kwargs: object) -> object:
        name, options = self.metric.reference_spec
        return self.metric(*args, reference=BoundExplainer(EXPLAINERS.get(name), options), **kwargs)


def score(name: str, model: nn.Module, saliency: torch.Tensor, images: torch.Tensor | None = None,
          **options: object) -> np.ndarray:
    images = torch.zeros(saliency.shape[0], 1, *saliency.shape[-2:]) if images is None else images
    metric = RankCorrelation(**options) if name == "rank-correlation" else create_metric(name, **options)
    return metric(model, images, torch.zeros(saliency.shape[0], dtype=torch.long), saliency).scores


def patches(*cells: int, value: float = 1.0) -> torch.Tensor:
    """A (1, 28, 28) map equal to ``value`` on the given patches (raster index in the 7x7 grid), else 0."""
    out = torch.zeros(1, SIDE, SIDE)
    for cell in cells:
        r, c = divmod(cell, SIDE // PATCH)
        out[0, r * PATCH:(r + 1) * PATCH, c * PATCH:(c + 1) * PATCH] = value
    return out


# ---------------------------------------------------------------- entropy


@pytest.mark.parametrize("level", ["patch", "pixel"])
def test_entropy_uniform_map_is_one(model, level) -> None:
    # catches a wrong normaliser (log(N - 1), log of the pixel count at patch level, log2 against ln)
    assert score("entropy", model, torch.full((2, SIDE, SIDE), 0.3), level=level) == pytest.approx(1.0, abs=1e-12)


def test_entropy_one_patch_is_zero(model, timm_vit) -> None:
    # catches windows that are not the model's patches (a hard-coded 4 on the 7px timm ViT, overlapping windows)
    inside = patches(10) * torch.rand(1, SIDE, SIDE).add(0.1)  # uneven inside the patch: still one patch
    assert score("entropy", model, inside)[0] == pytest.approx(0.0, abs=1e-12)
    assert score("entropy", model, inside, level="pixel")[0] > 0.3
    block = torch.zeros(1, SIDE, SIDE)
    block[0, 7:14, 14:21] = torch.rand(7, 7).add(0.1)  # patch (1, 2) of the 4x4 grid of 7px patches
    assert score("entropy", timm_vit, block)[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 7])
def test_entropy_equal_mass_in_k_of_49_patches(model, k) -> None:
    # catches a wrong N, pixels for patches, a max for the sum: the last patch holds its mass in one pixel
    saliency = patches(*range(0, 2 * (k - 1), 2))
    saliency[0, 24, 24] = 16.0  # patch 48 (bottom right): one pixel, same mass as a full patch of ones
    assert score("entropy", model, saliency)[0] == pytest.approx(math.log(k) / math.log(49), abs=1e-12)


def test_entropy_pixel_level_differs_from_patch_level(model) -> None:
    # catches the level option ignored or swapped: two uniform patches are 2 of 49 patches, 32 of 784 pixels
    saliency = patches(3, 30)
    assert score("entropy", model, saliency, level="patch")[0] == pytest.approx(math.log(2) / math.log(49))
    assert score("entropy", model, saliency, level="pixel")[0] == pytest.approx(math.log(32) / math.log(784))


def test_entropy_of_a_signed_map_is_that_of_its_magnitude(model) -> None:
    # catches a dropped abs (NaN from log of negatives) and abs taken after the patch sums (signs cancel)
    magnitude = torch.rand(2, SIDE, SIDE).add(0.01) ** 3
    signs = torch.ones(SIDE, SIDE)
    signs[::2, ::2] = signs[1::2, 1::2] = -1  # a checkerboard: every patch holds both signs
    signed, plain = score("entropy", model, magnitude * signs), score("entropy", model, magnitude)
    np.testing.assert_allclose(signed, plain, rtol=0, atol=1e-12)
    cancelled = score("entropy", model, (magnitude * signs).reshape(2, 7, 4, 7, 4).sum((2, 4)).abs()
                      .repeat_interleave(4, 1).repeat_interleave(4, 2))
    assert np.abs(cancelled - plain).min() > 1e-3


def test_entropy_all_zero_map_is_one(model) -> None:
    # catches 0/0 = NaN for a map without mass (documented: uniform)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert score("entropy", model, torch.zeros(2, SIDE, SIDE)).tolist() == [1.0, 1.0]


# ---------------------------------------------------------------- foreground mass


def fashion_like(batch: int = 2, means: tuple[float, ...] = (0.286,), stds: tuple[float, ...] = (0.353,),
                 regions: tuple[tuple[slice, slice] | None, ...] = ((slice(7, 21), slice(10, 18)),)) -> torch.Tensor:
    """Normalised images whose raw background is 0; channel c's object (values in [0.2, 1]) fills regions[c]."""
    raw = torch.zeros(batch, len(means), SIDE, SIDE)
    for c, region in enumerate(regions):
        if region is not None:
            raw[:, c, region[0], region[1]] = torch.rand(batch, *raw[0, 0, region[0], region[1]].shape) * 0.8 + 0.2
    return (raw - torch.tensor(means).view(1, -1, 1, 1)) / torch.tensor(stds).view(1, -1, 1, 1)


OBJECT = torch.zeros(SIDE, SIDE, dtype=torch.bool)
OBJECT[7:21, 10:18] = True  # 112 of 784 pixels: share 1/7


def test_foreground_mass_of_the_object_indicator_is_one_over_the_share(model) -> None:
    # catches a missing area normalisation (1.0) or an inverted ratio (1/49)
    images = fashion_like()
    np.testing.assert_allclose(score("foreground-mass", model, OBJECT.float().expand(2, -1, -1), images), 7.0)


def test_foreground_mass_of_a_uniform_map_is_one(model) -> None:
    # catches a share taken over the background or the object share left out of the denominator
    np.testing.assert_allclose(score("foreground-mass", model, torch.full((2, SIDE, SIDE), 2.5), fashion_like()), 1.0)


def test_foreground_mass_of_a_background_map_is_zero(model) -> None:
    # catches a flipped comparison (background taken as the object: 7/6) or a max instead of a min
    background = (~OBJECT).float().expand(2, -1, -1)
    np.testing.assert_allclose(score("foreground-mass", model, background, fashion_like()), 0.0)


def test_foreground_mass_uses_the_masks_when_given(model) -> None:
    # catches masks ignored: the top half holds 56 of the image's 112 object pixels (ratio 1.0 from the image)
    images, top = fashion_like(), torch.zeros(2, SIDE, SIDE, dtype=torch.bool)
    top[:, :14] = True
    metric = create_metric("foreground-mass")
    assert metric(model, images, torch.zeros(2, dtype=torch.long), top.float(), masks=top).scores.tolist() == [2, 2]
    np.testing.assert_allclose(metric(model, images, torch.zeros(2, dtype=torch.long), top.float()).scores, 1.0)


def test_foreground_mass_multi_channel(model) -> None:
    # catches 'all' for 'any' channel (NaN), one minimum for all channels (all foreground: NaN), channel 0 only (7)
    a, b = (slice(2, 6), slice(2, 9)), (slice(20, 24), slice(15, 22))  # 28 pixels each: union share 1/14
    images = fashion_like(means=(0.5, 0.2, 0.8), stds=(0.2, 0.4, 0.1), regions=(a, None, b))
    union = torch.zeros(2, SIDE, SIDE)
    union[:, a[0], a[1]] = union[:, b[0], b[1]] = 1
    np.testing.assert_allclose(score("foreground-mass", model, union, images), 14.0)


def test_foreground_mass_tol(model) -> None:
    # catches tol ignored: a background pixel 1e-3 above the minimum is object only when tol < 1e-3
    images = fashion_like()
    images[:, 0, 0, 0] += 1e-3
    indicator = OBJECT.float().expand(2, -1, -1)
    np.testing.assert_allclose(score("foreground-mass", model, indicator, images), 784 / 113)
    np.testing.assert_allclose(score("foreground-mass", model, indicator, images, tol=1e-2), 7.0)


def test_foreground_mass_of_a_signed_map_uses_magnitudes(model) -> None:
    # catches a dropped abs: +1 on the object, -1 on as many background pixels; the signed total would be 0
    saliency = OBJECT.float().expand(2, -1, -1).clone()
    saliency[:, 24:28] = -1.0  # 112 background pixels
    np.testing.assert_allclose(score("foreground-mass", model, saliency, fashion_like()), 3.5)


def test_foreground_mass_degenerate_samples_are_nan_with_a_warning(model) -> None:
    # catches 0/0 returned as inf/0 or silently: a zero map, a blank image, a mask over the whole image
    images, saliency = fashion_like(batch=3), torch.rand(3, SIDE, SIDE)
    saliency[0], images[1] = 0.0, -0.81
    with pytest.warns(RuntimeWarning, match=r"all zero for sample\(s\) \[0\].*empty for sample\(s\) \[1\]"):
        result = score("foreground-mass", model, saliency, images)
    assert np.isnan(result[:2]).all() and np.isfinite(result[2])
    with pytest.warns(RuntimeWarning, match=r"whole image for sample\(s\) \[0, 1, 2\]"):
        result = create_metric("foreground-mass")(model, images, torch.zeros(3, dtype=torch.long), saliency,
                                                  masks=torch.ones(3, SIDE, SIDE, dtype=torch.bool)).scores
    assert np.isnan(result).all()


# ---------------------------------------------------------------- rank correlation


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    return torch.randn(2, 1, SIDE, SIDE, generator=gen), torch.tensor([1, 4])


def test_rank_correlation_with_occlusion_of_its_own_map_and_negation(model, batch) -> None:
    # catches a sign lost (abs of either map: the negation would score +1) and the default reference
    images, targets = batch
    occlusion = create_explainer("occlusion", model).attribute(images, targets)
    metric = RankCorrelation()
    assert metric.title() == "Rank correlation with occlusion"
    np.testing.assert_allclose(metric(model, images, targets, occlusion).scores, 1.0, atol=1e-12)
    np.testing.assert_allclose(metric(model, images, targets, -occlusion).scores, -1.0, atol=1e-12)


def tied_maps(inputs: torch.Tensor, seed: int) -> torch.Tensor:
    """Small-integer maps (many ties), a function of the images only, standing in for an explainer."""
    gen = torch.Generator().manual_seed(seed + int(inputs.abs().sum().item() * 1000) % 1000)
    return torch.randint(0, 5, (inputs.shape[0], *inputs.shape[-2:]), generator=gen).float()


@pytest.mark.parametrize("level", ["pixel", "patch"])
def test_rank_correlation_equals_scipy_with_ties(model, batch, monkeypatch, level) -> None:
    # catches ordinal (raster-order) ranks for ties and patch maps that are means of |s| instead of signed sums
    monkeypatch.setattr(EXPLAINERS.get("random"), "_attribute", lambda self, inputs, target: tied_maps(inputs, 1))
    images, targets = batch
    saliency = tied_maps(images, 2) - 2.0  # signed, with ties
    reference = tied_maps(images, 1)
    if level == "patch":
        flat = [m.double().reshape(2, 7, 4, 7, 4).sum((2, 4)).flatten(1) for m in (saliency, reference)]
    else:
        flat = [m.double().flatten(1) for m in (saliency, reference)]
    expected = [spearmanr(flat[0][i], flat[1][i]).statistic for i in range(2)]
    result = RankCorrelation(reference="random", level=level)(model, images, targets, saliency)
    np.testing.assert_allclose(result.scores, expected, rtol=0, atol=1e-12)
    assert result.scores.dtype == np.float64 and result.scores.shape == (2,)


def test_rank_correlation_honours_reference_and_its_options(model, batch) -> None:
    # catches reference or reference_options dropped (the default occlusion / seed 0 would not give 1.0)
    images, targets = batch
    seeded = create_explainer("random", model, seed=3).attribute(images, targets)
    metric = RankCorrelation(reference="random", reference_options={"seed": 3})
    assert metric.title() == "Rank correlation with random"
    assert metric.reference_spec == ("random", {"seed": 3})  # what the runner looks up in its own maps
    np.testing.assert_allclose(metric(model, images, targets, seeded).scores, 1.0, atol=1e-12)
    unseeded = RankCorrelation(reference="random")(model, images, targets, seeded).scores
    assert np.abs(unseeded).max() < 0.2
    centre = create_explainer("centre", model).attribute(images, targets)
    np.testing.assert_allclose(score("rank-correlation", model, centre, images, reference="centre"), 1.0, atol=1e-12)


def test_rank_correlation_patch_level(model, timm_vit, batch) -> None:
    # catches the level ignored or a fixed patch size: a map constant inside each of the model's patches has
    # the random reference's patch ordering exactly, but not its ordering inside the patches
    images, targets = batch
    for net, patch in ((model, 4), (timm_vit, 7)):
        noise = create_explainer("random", net).attribute(images, targets)
        blocky = nn.functional.avg_pool2d(noise[:, None], patch)[:, 0]
        blocky = blocky.repeat_interleave(patch, 1).repeat_interleave(patch, 2)
        metric = RankCorrelation(reference="random", level="patch")
        np.testing.assert_allclose(metric(net, images, targets, blocky).scores, 1.0, atol=1e-12)
        assert (RankCorrelation(reference="random")(net, images, targets, blocky).scores < 0.9).all()


def test_rank_correlation_constant_map_is_nan_with_a_warning(model, batch) -> None:
    # catches scipy's NaN passed on silently (or a made-up 0) for a map without ordering
    images, targets = batch
    saliency = torch.rand(2, SIDE, SIDE)
    saliency[1] = 0.0
    with pytest.warns(RuntimeWarning, match=r"saliency of sample\(s\) \[1\] is constant"):
        result = RankCorrelation(reference="centre")(model, images, targets, saliency).scores
    assert np.isfinite(result[0]) and np.isnan(result[1])


def test_rank_correlation_memo(model, timm_vit, batch, monkeypatch) -> None:
    # catches no memo (count grows per call), a key without the images, targets or model (stale maps), no bound
    random_class, calls = EXPLAINERS.get("random"), []
    original = random_class._attribute
    monkeypatch.setattr(random_class, "_attribute", lambda self, inputs, target: calls.append(1) or
                        original(self, inputs, target))
    images, targets = batch
    other = images.flip(-1)
    metric = RankCorrelation(reference="random")
    saliency = torch.rand(2, SIDE, SIDE)
    first = metric(model, images, targets, saliency).scores
    np.testing.assert_array_equal(metric(model, images, targets, saliency).scores, first)
    metric(model, images, targets, -saliency)
    assert len(calls) == 1
    expected = RankCorrelation(reference="random")(model, other, targets, saliency).scores
    assert len(calls) == 2 and np.abs(expected - first).max() > 1e-3
    np.testing.assert_array_equal(metric(model, other, targets, saliency).scores, expected)  # not A's map
    assert len(calls) == 3
    metric(model, images, targets.flip(0), saliency)
    metric(timm_vit, images, targets, saliency)
    assert len(calls) == 5
    for k in range(16):  # 16 new batches push the first one out (FIFO, at most 16 kept)
        metric(model, images + k + 1, targets, saliency)
    metric(model, images, targets, saliency)
    assert len(calls) == 5 + 16 + 1


# ---------------------------------------------------------------- registry and options


@pytest.mark.parametrize("name,direction,display", [
    ("entropy", "lower", "Normalised entropy"),
    ("foreground-mass", "higher", "Foreground mass ratio"),
    ("rank-correlation", "higher", "Rank correlation with occlusion"),
])
def test_registered_with_direction(name, direction, display) -> None:
    cls = METRICS.get(name)
    assert (cls.name, cls.direction, cls.display_name) == (name, direction, display)
    assert cls.reference and cls.__doc__ and "Reference" in cls.__doc__ and not cls.needs.masks


@pytest.mark.parametrize("name,options,match", [
    ("entropy", {"level": "voxel"}, "option level must be one of patch, pixel, got 'voxel'"),
    ("entropy", {"levle": "patch"}, "unknown option 'levle'"),
    ("foreground-mass", {"tol": -1.0}, "option tol = -1.0 is out of range; it must be >= 0"),
    ("foreground-mass", {"tol": float("inf")}, "option tol = inf is out of range; it must be >= 0"),
    ("foreground-mass", {"tol": "big"}, "option tol .* got 'big'"),
    ("rank-correlation", {"level": "grid"}, "option level .* got 'grid'"),
    ("rank-correlation", {"reference": 3}, "option reference must be a str, got 3"),
    ("rank-correlation", {"reference_options": ["seed", 1]}, r"option reference_options must be a mapping, got "
                                                             r"\['seed', 1\]"),
])
def test_bad_option_raises(name, options, match) -> None:
    with pytest.raises(OptionError, match=match):
        create_metric(name, **options)


def test_unknown_reference_explainer_is_the_registrys_error() -> None:
    with pytest.raises(UserError, match="unknown explainer 'occlusoin' \\(did you mean 'occlusion'\\?\\)"):
        load_suite("faithfulness", ["metrics=[{name: rank-correlation, options: {reference: occlusoin}}]"])
    with pytest.raises(ValueError, match="needs its reference explainer \\(occlusion\\): pass reference="):
        create_metric("rank-correlation")(nn.Identity(), torch.zeros(1, 1, 4, 4), torch.zeros(1), torch.rand(1, 4, 4))


@pytest.mark.parametrize("kind", ["vit", "ia-vit", "timm"])
def test_every_metric_runs_on_every_model_kind(tiny_config, kind) -> None:
    net = (timm.create_model("vit_tiny_patch16_224", img_size=SIDE, patch_size=PATCH, in_chans=1, num_classes=10,
                             embed_dim=32, depth=1, num_heads=2) if kind == "timm" else create_model(kind, tiny_config))
    images, targets = fashion_like(), torch.tensor([0, 1])
    saliency = create_explainer("saliency", net.eval()).attribute(images, targets)
    for name in ("entropy", "foreground-mass", "rank-correlation"):
        options = {"reference": "centre", "level": "patch"} if name == "rank-correlation" else {}
        metric = RankCorrelation(**options) if name == "rank-correlation" else create_metric(name, **options)
        result = metric(net, images, targets, saliency)
        assert result.scores.dtype == np.float64 and result.scores.shape == (2,) and np.isfinite(result.scores).all()


def test_foreground_mass_checks_its_masks_and_takes_keywords(model) -> None:
    images, top = fashion_like(), torch.zeros(2, SIDE, SIDE, dtype=torch.bool)
    top[:, :14] = True
    metric, targets = create_metric("foreground-mass"), torch.zeros(2, dtype=torch.long)
    assert metric(model, images, targets, saliency=top.float(), masks=top).scores.tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"masks must be \(B, H, W\) = \(2, 28, 28\), got \(2, 28, 27\)"):
        metric(model, images, targets, top.float(), masks=top[:, :, :27])
    # tol 0: only pixels exactly at the image's minimum are background
    np.testing.assert_allclose(score("foreground-mass", model, OBJECT.float().expand(2, -1, -1), images, tol=0), 7.0)
