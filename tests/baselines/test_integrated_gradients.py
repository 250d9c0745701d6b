"""Integrated gradients (baselines/integrated_gradients.py): its defaults against a direct Captum call, and the four
baselines (Sturmfels et al. 2020), each complete with respect to its own baseline (Sundararajan et al. 2017,
Prop. 1), built here independently of the explainer; the bracketed names resolve like any other."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.substrates import substrate_for
from iabench.suites import apply_overrides
from iabench.suites.methods import method_specs

VARIANTS = ["integrated-gradients", "integrated-gradients[blur]", "integrated-gradients[uniform]",
            "integrated-gradients[mean]"]


def _images(n: int, shape: tuple[int, int, int] = (3, 8, 8), seed: int = 1) -> torch.Tensor:
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


def _smooth_net(pixels: int = 3 * 8 * 8) -> nn.Module:
    """A smooth net whose logits differ between the image and each baseline (weights scaled up from the default
    initialisation, which gives logit gaps of ~0.01 here)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 32), nn.Tanh(), nn.Linear(32, 4)).eval()
    with torch.no_grad():
        model[1].weight *= 3
        model[3].weight *= 10
    return model


def _independent_baseline(name: str, images: torch.Tensor) -> torch.Tensor:
    if name == "integrated-gradients[blur]":  # the blur substrate: sigma 5, kernel 11 cut to 7 at 8 px
        return gaussian_blur(images, [7, 7], [5.0, 5.0])
    if name == "integrated-gradients[uniform]":  # the noise substrate, as its `baseline` attribute claims
        return substrate_for(images, "noise", seed=0)
    if name == "integrated-gradients[mean]":  # each image's per-channel mean, a flat image
        return images.mean(dim=(2, 3), keepdim=True).expand_as(images)
    return torch.zeros_like(images)


@pytest.mark.parametrize("name", VARIANTS)
def test_complete_with_respect_to_its_own_baseline(name: str) -> None:
    """sum of attributions = f(x) - f(x') for the target logit, to 0.1 % at 64 steps; 2 steps are worse."""
    model, images, target = _smooth_net(), _images(3), torch.tensor([0, 2, 3])
    with torch.no_grad():
        gap = (model(images) - model(_independent_baseline(name, images))).gather(1, target[:, None])[:, 0]

    def error(steps: int) -> torch.Tensor:
        saliency = create_explainer(name, model, n_steps=steps).attribute(images, target)
        return (saliency.sum(dim=(1, 2)) - gap).abs()

    fine = error(64)
    assert gap.abs().min() > 0.05, gap
    assert (fine < 1e-3 * gap.abs()).all(), (fine, gap)  # measured <= 1e-5
    assert fine.sum() < error(2).sum()
    cls = EXPLAINERS.get(name)
    assert cls.signed and cls.family == "gradient" and cls.description and not cls.description.endswith(".")


def test_blur_baseline_is_the_gaussian_blur_of_the_image() -> None:
    images = _images(2, (1, 28, 28))
    default = create_explainer("integrated-gradients[blur]", _smooth_net(784))
    # by default the blur substrate: kernel 11, sigma 5
    torch.testing.assert_close(default.reference_input(images), gaussian_blur(images, [11, 11], [5.0, 5.0]))
    own = create_explainer("integrated-gradients[blur]", _smooth_net(784), kernel=33)
    # sigma 0.18 * 28 = 5.04 once either option is given
    torch.testing.assert_close(own.reference_input(images), gaussian_blur(images, [33, 33], [5.04, 5.04]))
    given = create_explainer("integrated-gradients[blur]", _smooth_net(784), sigma=2.0)
    torch.testing.assert_close(given.reference_input(images), gaussian_blur(images, [13, 13], [2.0, 2.0]))
    small = _images(1, (1, 6, 6))  # +-3 sigma = 33 px does not fit 6 px: capped at 11 (reflect padding < 6)
    capped = create_explainer("integrated-gradients[blur]", _smooth_net(36), sigma=5.0).reference_input(small)
    torch.testing.assert_close(capped, gaussian_blur(small, [11, 11], [5.0, 5.0]))
    as_substrate = create_explainer("integrated-gradients[blur]", _smooth_net(784), sigma=5, kernel=11)
    torch.testing.assert_close(as_substrate.reference_input(images), substrate_for(images, "blur"))
    assert EXPLAINERS.get("integrated-gradients[blur]").baseline == "blur"


def test_uniform_baseline_is_seeded_per_image() -> None:
    """Uniform over each image's per-channel range, the same every call and for an image alone or in a batch;
    another seed, other noise."""
    images = torch.cat([_images(1), 4.0 * _images(1, seed=2)])
    explainer = create_explainer("integrated-gradients[uniform]", _smooth_net())
    noise = explainer.reference_input(images)
    low, high = images.amin(dim=(2, 3), keepdim=True), images.amax(dim=(2, 3), keepdim=True)
    assert ((noise >= low) & (noise <= high)).all() and noise[1].std() > 2 * noise[0].std()
    assert torch.equal(explainer.reference_input(images), noise)
    assert torch.equal(explainer.reference_input(images[1:]), noise[1:])
    other = create_explainer("integrated-gradients[uniform]", _smooth_net(), seed=1).reference_input(images)
    assert not torch.equal(other, noise)
    maps = explainer.attribute(images, [1, 2])
    assert torch.equal(explainer.attribute(images, [1, 2]), maps)
    assert EXPLAINERS.get("integrated-gradients[uniform]").baseline == "noise"


def test_mean_baseline_default_and_given() -> None:
    images, target = _images(2), torch.tensor([1, 3])
    model = _smooth_net()
    default = create_explainer("integrated-gradients[mean]", model).reference_input(images)
    assert torch.equal(default[:, :, 3, 5], images.mean(dim=(2, 3)))  # every pixel: the channel's mean
    mean_image = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(4))
    given = create_explainer("integrated-gradients[mean]", model, mean_image=mean_image, n_steps=64)
    torch.testing.assert_close(given.reference_input(images), mean_image.expand(2, -1, -1, -1))
    with torch.no_grad():
        gap = (model(images) - model(mean_image[None])).gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(given.attribute(images, target).sum(dim=(1, 2)), gap, rtol=1e-2, atol=1e-3)
    values = create_explainer("integrated-gradients[mean]", model, mean_image=[0.1, 0.2, 0.3])
    assert torch.equal(values.reference_input(images)[1, :, 7, 0], torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="mean_image"):
        create_explainer("integrated-gradients[mean]", model, mean_image=torch.zeros(3, 4, 4)).attribute(images)
    assert EXPLAINERS.get("integrated-gradients[mean]").baseline is None


def test_zeros_variant_is_unchanged() -> None:
    cls = EXPLAINERS.get("integrated-gradients")
    assert cls.baseline == "zeros" and cls.display_name == "Integrated Gradients"
    assert create_explainer("integrated-gradients", _smooth_net()).reference_input(_images(1)).abs().max() == 0


def test_bracketed_names_resolve() -> None:
    for name in VARIANTS:
        assert type(create_explainer(name, _smooth_net())).name == name
    specs = method_specs(VARIANTS[1:], "explainer", EXPLAINERS.names())
    assert [(s.name, s.label, s.options) for s in specs] == [(n, n, {}) for n in VARIANTS[1:]]
    overrides = apply_overrides({}, ["explainers=integrated-gradients[blur],rise,integrated-gradients[mean]"])
    assert overrides == {"explainers": ["integrated-gradients[blur]", "rise", "integrated-gradients[mean]"]}


class Kinked(nn.Module):
    """Logits from sum(relu(x - 0.3)): the gradient along the path from zeros jumps at each pixel's kink,
    so the quadrature depends on the number of steps (a smooth ViT converges to 1e-9 in 31 steps)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evidence = torch.relu(x.flatten(1) - 0.3).sum(1, keepdim=True)
        return torch.cat([evidence, -evidence, 2 * evidence], 1)


def test_integrated_gradients_defaults_equal_a_direct_captum_call() -> None:
    """32 steps from the zero image, summed over the three channels."""
    images, target = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 2])
    direct = IntegratedGradients(Kinked()).attribute(images, baselines=torch.zeros_like(images), target=target,
                                                     n_steps=32).sum(dim=1)
    ours = create_explainer("integrated-gradients", Kinked()).attribute(images, target)
    torch.testing.assert_close(ours, direct.float(), rtol=1e-5, atol=1e-6)
    other = create_explainer("integrated-gradients", Kinked(), n_steps=31).attribute(images, target)
    assert (other - ours).abs().max() > 0.01  # the step count matters on this model
