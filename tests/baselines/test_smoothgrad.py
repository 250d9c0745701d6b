"""SmoothGrad (Smilkov et al. 2017, Eq. 2) against what it must reduce to: ``saliency`` without noise, |w| on a
linear model whatever the noise; the noise is really added, scales with each image's range, and is seeded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iabench.baselines import create_explainer
from iabench.models import create_model, get_preset


def _images(n: int, shape: tuple[int, int, int] = (1, 28, 28), seed: int = 1) -> torch.Tensor:
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    torch.manual_seed(0)
    return create_model("vit", get_preset("vit-tiny-fmnist").model).eval()


def test_without_noise_it_is_saliency(vit: nn.Module) -> None:
    images, target = _images(2), torch.tensor([1, 6])
    saliency = create_explainer("saliency", vit).attribute(images, target)
    exact = create_explainer("smoothgrad", vit, stdevs=0.0, nt_samples=4).attribute(images, target)
    torch.testing.assert_close(exact, saliency, rtol=1e-5, atol=1e-7)
    tiny = create_explainer("smoothgrad", vit, stdevs=1e-6, nt_samples=32, nt_samples_batch_size=8)
    torch.testing.assert_close(tiny.attribute(images, target), saliency, rtol=1e-3, atol=1e-3 * saliency.max())


def test_a_linear_model_gives_abs_w_whatever_the_noise() -> None:
    """logits = W x + b: every noisy copy has the gradient W_target, so the map is |W_target|, max over the
    three channels (weights of both signs: a signed average would keep the negative ones)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 6, 4)).eval()
    images, target = _images(2, (3, 8, 6)), torch.tensor([0, 3])
    got = create_explainer("smoothgrad", model, stdevs=0.5, nt_samples=8).attribute(images, target)
    expected = model[1].weight.detach()[target].reshape(2, 3, 8, 6).abs().amax(dim=1)
    assert (model[1].weight < 0).any()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


def test_the_noise_is_added_and_scales_with_the_image_range(vit: nn.Module) -> None:
    """On a non-linear model noise changes the map. The std is a fraction of each image's range: images
    scaled by a fed to model(x / a) see the same noisy copies, so the map is the original's / a."""
    images, target = _images(2), torch.tensor([1, 6])
    smooth = create_explainer("smoothgrad", vit, nt_samples=8).attribute(images, target)
    saliency = create_explainer("saliency", vit).attribute(images, target)
    assert (smooth - saliency).abs().max() > 0.1 * saliency.max()

    class Scaled(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return vit(x / 4.0)

    scaled = create_explainer("smoothgrad", Scaled(), nt_samples=8).attribute(4.0 * images, target)
    torch.testing.assert_close(scaled, smooth / 4.0, rtol=1e-4, atol=1e-4 * smooth.max().item() / 4.0)


def test_seeded_batch_invariant_and_the_global_rng_untouched(vit: nn.Module) -> None:
    images, target = torch.cat([_images(1), 5.0 * _images(1, seed=2)]), torch.tensor([1, 6])  # two ranges
    torch.manual_seed(7)
    state = torch.get_rng_state()
    first = create_explainer("smoothgrad", vit, nt_samples=4).attribute(images, target)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(create_explainer("smoothgrad", vit, nt_samples=4).attribute(images, target), first)
    alone = torch.cat([create_explainer("smoothgrad", vit, nt_samples=4).attribute(images[i:i + 1], target[i:i + 1])
                       for i in range(2)])
    torch.testing.assert_close(alone, first, rtol=1e-5, atol=1e-6 * first.max().item())
    other = create_explainer("smoothgrad", vit, nt_samples=4, seed=1).attribute(images, target)
    assert (other - first).abs().max() > 1e-3 * first.max()
