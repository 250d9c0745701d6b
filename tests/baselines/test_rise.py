"""RISE (Petsiuk et al. 2018): Eq. 6 recomputed by hand from the same masks, a model that looks at one region only,
the masks' construction (keep rate, random shift), seeding, and a black-box conv net that is no ViT."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iabench.baselines import create_explainer
from iabench.baselines.rise import draw_grids, render_masks, rise_masks
from iabench.models import vit_backbone


class TopLeft(nn.Module):
    """Logit of class ``target`` = 4 x the mean of the top-left 8 x 8 pixels; every other logit 0."""

    def __init__(self, classes: int = 10, target: int = 3) -> None:
        super().__init__()
        self.classes, self.target = classes, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], self.classes)
        logits[:, self.target] = 4 * x[:, :, :8, :8].mean(dim=(1, 2, 3))
        return logits


class Constant(nn.Module):
    """Fixed logits whatever the input: the target probability is a constant c."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.tensor([0.5, 2.0, -1.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(x.shape[0], -1) + 0 * x.flatten(1).sum(1, keepdim=True)


def _images(n: int, size: tuple[int, int] = (28, 28), channels: int = 1, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, channels, *size, generator=torch.Generator().manual_seed(seed))


def test_the_map_is_eq_6_over_the_same_masks() -> None:
    """S = sum_i softmax(f(I * M_i))_target M_i / (N p), by a loop over the masks, on a small conv net."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Linear(16, 5)).eval()
    images, target = _images(3, (12, 10), channels=2), torch.tensor([0, 2, 4])
    masks = rise_masks(40, 3, 0.3, (12, 10), torch.Generator().manual_seed(7))
    expected = torch.zeros(3, 12, 10)
    with torch.no_grad():
        for mask in masks:
            probability = model(images * mask).softmax(dim=1).gather(1, target[:, None])[:, 0]
            expected += probability[:, None, None] * mask
    expected /= 40 * 0.3
    # batch_size 7: masks split into chunks of 2 (7 // 3 images), the last one short
    explainer = create_explainer("rise", model, n_masks=40, cell=3, p_keep=0.3, seed=7, batch_size=7)
    got = explainer.attribute(images, target)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


def test_a_constant_probability_gives_c_times_the_mask_mean_over_p() -> None:
    """f = c everywhere: S = c * mean_i M_i / p, whose average over the pixels is close to c (E[M] = p)."""
    c = torch.tensor([0.5, 2.0, -1.0]).softmax(0)[1].item()
    saliency = create_explainer("rise", Constant(), n_masks=300, p_keep=0.25, seed=4).attribute(_images(2), [1, 1])
    masks = rise_masks(300, 7, 0.25, (28, 28), torch.Generator().manual_seed(4))
    torch.testing.assert_close(saliency, (c * masks.mean(0) / 0.25).expand(2, -1, -1), rtol=1e-5, atol=1e-7)
    assert abs(saliency.mean().item() - c) < 0.05 * c


def test_a_model_that_sees_one_region_gets_a_map_on_that_region() -> None:
    """Only the top-left 8 x 8 pixels move the target's probability: the map is higher there."""
    images = 1.0 + 0.1 * _images(2)  # positive: masking the region lowers the target's logit
    saliency = create_explainer("rise", TopLeft(), n_masks=500).attribute(images, [3, 3])
    region = torch.zeros(28, 28, dtype=torch.bool)
    region[:8, :8] = True
    for image_map in saliency:
        inside, outside = image_map[region].mean(), image_map[~region].mean()
        assert inside > outside + 3 * image_map[~region].std(), (inside, outside)
        row, col = divmod(int(image_map.argmax()), 28)
        assert row < 8 and col < 8


def test_masks_keep_p_are_soft_and_shifted_off_the_grid() -> None:
    """Values in [0, 1] with mean p, soft (bilinear). The random shift makes every pixel's value equally
    distributed: without it (offsets 0) the per-pixel variance follows the cell grid (max / min ~4 measured,
    centres of cells vs their borders); with it the spread is ~1.3, sampling noise."""
    grids, offsets = draw_grids(4000, 7, 0.5, (28, 28), torch.Generator().manual_seed(0))
    masks = render_masks(grids, offsets, (28, 28))
    assert masks.shape == (4000, 28, 28) and masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean().item() - 0.5) < 0.01
    assert ((masks > 0) & (masks < 1)).float().mean() > 0.3  # bilinear: soft edges, not binary cells
    assert set(offsets.flatten().tolist()) == {0, 1, 2, 3}  # cells of 28 / 7 = 4 px

    def spread(rendered: torch.Tensor) -> float:
        variance = rendered.var(dim=0)[4:24, 4:24]  # away from the borders, where the upsampling clamps
        return (variance.max() / variance.min()).item()

    assert spread(masks) < 1.6
    assert spread(render_masks(grids, torch.zeros_like(offsets), (28, 28))) > 2.5
    odd = rise_masks(3, 4, 0.5, (30, 17), torch.Generator().manual_seed(0))  # sizes not divisible by the grid
    assert odd.shape == (3, 30, 17)


def test_same_seed_same_map_other_seed_other_map() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()
    images = _images(2)
    first = create_explainer("rise", model, n_masks=64).attribute(images, [1, 2])
    torch.manual_seed(123)  # the global RNG does not matter: the masks come from their own generator
    assert torch.equal(create_explainer("rise", model, n_masks=64).attribute(images, [1, 2]), first)
    other = create_explainer("rise", model, n_masks=64, seed=1).attribute(images, [1, 2])
    assert (other - first).abs().max() > 1e-3


def test_a_conv_net_with_three_channels_and_a_non_square_image() -> None:
    """RISE needs nothing but the forward: a conv net (no ViT backbone) explains like any model."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    with pytest.raises(TypeError, match="VisionTransformer"):
        vit_backbone(model)  # not a ViT: an explainer that looked for one would fail
    images = _images(3, (20, 24), channels=3)
    saliency = create_explainer("rise", model, n_masks=64).attribute(images)
    assert saliency.shape == (3, 20, 24) and torch.isfinite(saliency).all()
    assert (saliency >= 0).all() and (saliency.flatten(1).std(1) > 0).all()
