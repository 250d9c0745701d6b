"""The patch-level diagnostics' building blocks on rectangular patches and tiny maps, by hand: patch sums,
the model's patch size, and entropy where the patch or pixel count is 2."""

from __future__ import annotations

import math

import pytest
import timm
import torch

from iabench.metrics import create_metric
from iabench.metrics._checks import patch_sums
from iabench.models import patch_size_of


@pytest.fixture(scope="module")
def wide_patches() -> torch.nn.Module:
    """A timm ViT on 4 x 6 images with 2 x 3 patches (a 2 x 2 grid)."""
    torch.manual_seed(0)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=(4, 6), patch_size=(2, 3),
                             in_chans=1, num_classes=2, depth=1, embed_dim=8, num_heads=2).eval()


def test_patch_sums_of_rectangular_patches_in_raster_order(wide_patches) -> None:
    maps = torch.arange(24.0).reshape(1, 4, 6)
    assert patch_size_of(wide_patches) == (2, 3)
    # patch (0, 0) holds 0, 1, 2, 6, 7, 8; each patch to its right adds 3 per pixel, each one below 12
    assert patch_sums(maps, (2, 3)).tolist() == [[24.0, 42.0, 96.0, 114.0]]
    for bad in ((1, 4, 5), (1, 3, 6)):  # either side not divisible
        with pytest.raises(ValueError, match="does not divide the image size"):
            patch_sums(torch.zeros(bad), (2, 3))


def test_entropy_of_two_units_and_a_level_read_from_a_file(wide_patches) -> None:
    images = torch.zeros(1, 1, 4, 6)
    # two non-zero patches holding 1/4 and 3/4 of the mass: H = -(1/4 ln 1/4 + 3/4 ln 3/4), over ln 4 patches
    saliency = torch.zeros(1, 4, 6)
    saliency[0, 0, 0], saliency[0, 3, 5] = 1.0, 3.0
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    level = "".join(["pat", "ch"])  # as read from a suite file: not an interned literal
    patch = create_metric("entropy", level=level)(wide_patches, images, torch.tensor([0]), saliency).scores
    assert patch[0] == pytest.approx(h / math.log(4))
    # a 1 x 2 image at pixel level: two units, normalised by ln 2
    two = create_metric("entropy", level="pixel")(wide_patches, torch.zeros(1, 1, 1, 2), torch.tensor([0]),
                                                  torch.tensor([[[1.0, 3.0]]])).scores
    assert two[0] == pytest.approx(h / math.log(2))


def test_patch_units_refuse_rectangular_patches_unless_a_size_is_given(wide_patches) -> None:
    images, saliency = torch.randn(1, 1, 4, 6), torch.rand(1, 4, 6)
    with pytest.raises(ValueError, match=r"needs square patches, the model's are \(2, 3\)"):
        create_metric("deletion", unit="patch")(wide_patches, images, torch.tensor([0]), saliency)
    curves = create_metric("deletion", unit="patch", patch_size=2)(wide_patches, images, torch.tensor([0]), saliency)
    assert curves.curves.shape == (1, 7)  # 6 squares of 2 x 2 pixels, one per step, and the start


def test_rank_correlation_level_read_from_a_file(wide_patches) -> None:
    """Patch level sums each 2 x 3 patch: two maps equal patch by patch but ordered differently inside the
    patches correlate perfectly at patch level and not at pixel level."""
    images = torch.zeros(1, 1, 4, 6)
    first = torch.arange(24.0).reshape(1, 4, 6)
    # every patch's pixels in reverse order: the same patch sums
    second = first.reshape(1, 2, 2, 2, 3).flip(2, 4).reshape(1, 4, 6)
    level = "".join(["pat", "ch"])
    patch = create_metric("rank-correlation", level=level)(wide_patches, images, torch.tensor([0]), first,
                                                           reference_map=second).scores
    pixel = create_metric("rank-correlation", level="pixel")(wide_patches, images, torch.tensor([0]), first,
                                                             reference_map=second).scores
    assert patch[0] == pytest.approx(1.0) and pixel[0] < 0.9
