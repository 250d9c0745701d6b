"""Explainers against properties their papers prove or define: IG completeness, signs kept, controls
independent of the model, rollout of identity attention, Grad-CAM alive on a trained model."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from iabench.baselines import create_explainer, upsample_patch_map
from iabench.baselines.generic_attention import accumulate
from iabench.models import create_model, get_preset, vit_backbone
from iabench.seeding import image_generator

TINY = get_preset("vit-tiny-fmnist").model
MICRO = dataclasses.replace(TINY, img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2, num_classes=4)


def _model(kind: str = "vit", seed: int = 0, config=TINY) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(kind, config).eval()


def _images(n: int, config=TINY, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, config.in_chans, config.img_size, config.img_size, generator=generator)


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    return _model()


def test_integrated_gradients_completeness_and_convergence(vit: nn.Module) -> None:
    """Sundararajan et al. 2017, Prop. 1: the attributions sum to f(x) - f(baseline) for the target logit
    (baseline = zeros here); the quadrature error shrinks as steps grow."""
    images, target = _images(3), torch.tensor([0, 3, 7])
    with torch.no_grad():
        gap = (vit(images) - vit(torch.zeros_like(images))).gather(1, target[:, None])[:, 0]

    def error(steps: int) -> torch.Tensor:
        saliency = create_explainer("integrated-gradients", vit, n_steps=steps).attribute(images, target)
        return (saliency.sum(dim=(1, 2)) - gap).abs()

    coarse, fine = error(2), error(64)
    assert (fine < 0.01 * gap.abs().clamp_min(1e-3)).all(), (fine, gap)  # complete to 1 % at 64 steps
    assert fine.sum() < coarse.sum()


@pytest.mark.parametrize("name", ["input-x-gradient", "integrated-gradients"])
def test_signed_methods_keep_their_sign(vit: nn.Module, name: str) -> None:
    """Input x gradient is x * df_t/dx summed over channels (Shrikumar et al. 2016), computed here by
    autograd; both it and IG must carry negative evidence as negative values, not as magnitudes."""
    images, target = _images(2), torch.tensor([1, 4])
    saliency = create_explainer(name, vit, **({"n_steps": 8} if name == "integrated-gradients" else {})).attribute(
        images, target)
    assert (saliency < 0).any() and (saliency > 0).any()
    if name == "input-x-gradient":
        x = images.clone().requires_grad_(True)
        vit(x).gather(1, target[:, None]).sum().backward()
        torch.testing.assert_close(saliency, (x * x.grad).sum(1).detach(), rtol=1e-4, atol=1e-6)


def test_saliency_is_the_gradient_magnitude(vit: nn.Module) -> None:
    """Simonyan et al. 2014: |df_t/dx|, max over channels (one channel here): unsigned by definition."""
    images, target = _images(2), torch.tensor([2, 5])
    x = images.clone().requires_grad_(True)
    vit(x).gather(1, target[:, None]).sum().backward()
    saliency = create_explainer("saliency", vit).attribute(images, target)
    torch.testing.assert_close(saliency, x.grad.abs().amax(1), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", ["random", "centre", "edge"])
def test_controls_do_not_depend_on_the_model_or_target(name: str) -> None:
    images = _images(3)
    first = create_explainer(name, _model("vit", seed=0)).attribute(images, torch.tensor([0, 1, 2]))
    second = create_explainer(name, _model("ia-vit", seed=5)).attribute(images, torch.tensor([9, 9, 9]))
    assert torch.equal(first, second)


def test_random_control_depends_on_the_image_and_seed_and_centre_peaks_at_the_centre() -> None:
    model, images = _model(), _images(2)
    noise = create_explainer("random", model).attribute(images)
    assert not torch.equal(noise[0], noise[1])
    assert not torch.equal(noise, create_explainer("random", model, seed=1).attribute(images))
    rgb = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))  # 3 channels, not square
    drawn = create_explainer("random", model).attribute(rgb)
    # one uniform (H, W) draw per image from the generator its bytes and the default seed 0 give
    assert torch.equal(drawn, torch.stack([torch.rand(5, 6, generator=image_generator(x, 0)) for x in rgb]))
    centre = create_explainer("centre", model).attribute(images)[0]
    # 28 px: the four middle pixels (13, 14) hold the maximum, the corners the minimum; sigma 0.25 * 28
    assert centre[13, 13] == centre.max() and centre[0, 0] == centre.min()
    expected = torch.exp(torch.tensor(-0.5 * 2 * (13.5 / 7) ** 2))
    torch.testing.assert_close(centre[0, 0], expected)


def test_raw_attention_is_the_last_blocks_cls_row_averaged_over_heads() -> None:
    """A 3-block ViT (2 x 2 patches, 5 tokens, 2 heads) whose attention probabilities are replaced by known
    matrices: the map is the last block's CLS row over the patches, the mean of its two heads; one forward,
    since the map does not depend on a target."""
    config = dataclasses.replace(MICRO, img_size=8, depth=3)
    model = _model(config=config)
    generator = torch.Generator().manual_seed(3)
    known = [torch.softmax(3 * torch.randn(1, 2, 5, 5, generator=generator), dim=-1) for _ in range(3)]
    handles = [block.attn.attn_drop.register_forward_hook(lambda m, i, o, a=a: a.expand_as(o).clone())
               for block, a in zip(vit_backbone(model).blocks, known)]
    forwards = []
    # one pass through the patch embedding = one forward (the seam's own forward does not call model.forward)
    handles.append(vit_backbone(model).patch_embed.proj.register_forward_hook(lambda *_: forwards.append(1)))
    try:
        saliency = create_explainer("attention", model).attribute(_images(2, config))
    finally:
        for handle in handles:
            handle.remove()
    last = known[-1][0]
    cls_row = torch.stack([(last[0, 0, 1 + p] + last[1, 0, 1 + p]) / 2 for p in range(4)])
    expected = upsample_patch_map(cls_row.reshape(1, 2, 2), (8, 8)).expand(2, 8, 8)
    torch.testing.assert_close(saliency, expected)
    assert len(forwards) == 1


def test_generic_attention_accumulation_of_one_and_two_blocks() -> None:
    """Chefer ICCV'21 Eq. 6 from R = I: one block gives I + A1, two give (I + A2)(I + A1)."""
    a1, a2 = torch.rand(2, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    eye = torch.eye(3)
    torch.testing.assert_close(accumulate([a1]), eye + a1)
    torch.testing.assert_close(accumulate([a1, a2]), (eye + a2) @ (eye + a1))




def _quadrant_task(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """16 px noise images with one bright 8x8 quadrant; the class is the quadrant."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=generator)
    images = 0.3 * torch.randn(n, 1, 16, 16, generator=generator)
    for image, label in zip(images, labels.tolist()):
        row, col = divmod(label, 2)
        image[:, 8 * row:8 * row + 8, 8 * col:8 * col + 8] += 2.0
    return images, labels


def test_gradcam_is_alive_on_a_trained_model() -> None:
    """After training on the quadrant task (accuracy 100 %), Grad-CAM is non-zero on every image: on the
    last block's output tokens it would be zero (only CLS reaches the head). Where it points is not
    checked: the three dark quadrants are as much evidence for the class as the bright one, and this model
    uses them (its saliency and Grad-CAM peak there)."""
    torch.manual_seed(0)
    model = create_model("vit", MICRO)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(60):
        images, labels = _quadrant_task(64, seed=step)
        loss = nn.functional.cross_entropy(model(images), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    images, labels = _quadrant_task(16, seed=1000)
    with torch.no_grad():
        assert (model(images).argmax(1) == labels).all()
    cam = create_explainer("gradcam", model).attribute(images, labels)
    assert (cam.flatten(1).amax(1) > 0).all() and (cam >= 0).all()  # ReLU: never negative


def test_edge_is_the_sobel_magnitude_hand_computed_on_4x4_images() -> None:
    """A vertical step (columns 0 0 1 1): the W-derivative [-1, 0, 1] smoothed [1, 2, 1] over rows is 1 * 4 at the
    two middle columns and 0 at the borders (reflect repeats the edge pixel); nothing along H. An impulse at (1, 1):
    at (0, 0) both derivatives are 1 (the impulse sits on the diagonal, weight 1 each way), magnitude sqrt 2."""
    model = _model()
    step = torch.tensor([[0.0, 0.0, 1.0, 1.0]]).expand(4, 4)
    impulse = torch.zeros(4, 4)
    impulse[1, 1] = 1.0
    maps = create_explainer("edge", model).attribute(torch.stack([step, impulse])[:, None])
    torch.testing.assert_close(maps[0], torch.tensor([[0.0, 4.0, 4.0, 0.0]]).expand(4, 4), rtol=0, atol=1e-6)
    torch.testing.assert_close(maps[1, 0, 0], torch.tensor(2.0).sqrt(), rtol=0, atol=1e-6)
    assert maps[1, 1, 1] == 0.0  # the impulse's own pixel: its neighbours cancel in both directions
    # channels add in quadrature: the same step in two channels is sqrt 2 times the one-channel map
    rgb = create_explainer("edge", model).attribute(torch.stack([step, step])[None])
    torch.testing.assert_close(rgb[0], maps[0] * 2 ** 0.5, rtol=0, atol=1e-6)
