"""Parts of the relevance and gradient explainers, each against a direct computation: CP-LRP's
LayerNorm and GELU replacements, the softmax rule's hooks, the naive-LRP control's defaults and its
non-finite guard, and integrated gradients' defaults against a direct Captum call."""

from __future__ import annotations

import copy
import dataclasses

import timm
import torch
import torch.nn.functional as F
from torch import nn

import iabench.baselines.lrp_naive as lrp_naive
from iabench.baselines import create_explainer, upsample_patch_map
from iabench.baselines.lrp import _ConservativeGELU, _ConservativeLayerNorm, _Detached, conservative_forward
from iabench.models import capture_attention, create_model, get_preset, vit_backbone

MICRO = dataclasses.replace(get_preset("vit-tiny-fmnist").model, img_size=8, patch_size=4, in_chans=3,
                            embed_dim=16, depth=2, num_heads=2, num_classes=3)


def test_conservative_layer_norm_computes_layer_norm_with_its_affine_part() -> None:
    generator = torch.Generator().manual_seed(0)
    original = nn.LayerNorm(6, eps=1e-5)
    with torch.no_grad():
        original.weight.copy_(torch.randn(6, generator=generator))
        original.bias.copy_(torch.randn(6, generator=generator))
    x = torch.randn(4, 6, generator=generator)
    for reference in (original, nn.LayerNorm(6, elementwise_affine=False)):
        conservative = _ConservativeLayerNorm(reference)
        torch.testing.assert_close(conservative(x), reference(x))


def test_conservative_gelu_is_gelu_with_the_ratio_as_its_gradient() -> None:
    x = torch.tensor([0.0, 1e-7, 1.0, -2.0], dtype=torch.float64, requires_grad=True)
    gelu = _ConservativeGELU(nn.GELU())
    out = gelu(x)
    torch.testing.assert_close(out, F.gelu(x))
    out.sum().backward()
    # d(x * r)/dx = r with r detached: gelu(x) / x, and its limit 0.5 at (and next to) zero
    expected = torch.tensor([0.5, 0.5, F.gelu(torch.tensor(1.0)).item(), F.gelu(torch.tensor(-2.0)).item() / -2],
                            dtype=torch.float64)
    torch.testing.assert_close(x.grad, expected)


def test_the_conservative_forward_leaves_the_model_alone_and_detaches_the_probabilities() -> None:
    """CP-LRP's forward wraps the model's modules without changing them: the model's modules, hooks and logits are
    as before; its attention probabilities pass through the block's attn_drop, detached, and its logits are the
    model's (the std and GELU ratio are only detached, not changed)."""
    torch.manual_seed(0)
    model = create_model("vit", MICRO).eval()
    images = torch.randn(2, 3, 8, 8)
    before = [type(m) for m in model.modules()]
    forward = conservative_forward(model)
    steps = list(forward.steps)
    assert all(isinstance(step.probabilities, _Detached) for step in steps)
    blocks = vit_backbone(model).blocks
    assert all(step.probabilities.module is block.attn.attn_drop for step, block in zip(steps, blocks))
    assert all(isinstance(step.pre_attention, _ConservativeLayerNorm) and isinstance(step.act, _ConservativeGELU)
               for step in steps)
    torch.testing.assert_close(forward(images), model(images), rtol=1e-5, atol=1e-6)
    assert [type(m) for m in model.modules()] == before
    assert all(not m._forward_hooks for m in model.modules())


def test_naive_lrp_defaults_and_non_finite_relevance_becomes_zero(monkeypatch) -> None:
    torch.manual_seed(0)
    model = create_model("vit", MICRO).eval()
    rules = [m.rule for m in lrp_naive.with_naive_rules(model).modules() if isinstance(m, nn.Linear)]
    assert rules and all(rule.STABILITY_FACTOR == 1e-9 for rule in rules)  # Captum's name for epsilon
    relevance = torch.zeros(1, 3, 8, 8)
    relevance[0, 0, 0, :3] = torch.tensor([float("nan"), float("inf"), float("-inf")])
    relevance[0, 1, 1, 1] = 2.0
    monkeypatch.setattr(lrp_naive.LRP, "attribute", lambda self, inputs, target: relevance)
    out = create_explainer("lrp-captum-naive", model).attribute(torch.randn(1, 3, 8, 8), [0])
    expected = torch.zeros(1, 8, 8)
    expected[0, 1, 1] = 2.0  # summed over channels; NaN and both infinities become 0
    assert torch.equal(out, expected)






def test_occlusion_equals_a_loop_over_rectangular_patch_windows() -> None:
    """Zeiler & Fergus by hand on a timm ViT with 4 x 2 patches and 3 channels: each window's pixels score
    the target logit's drop when the window (all channels) becomes 0."""
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=8, patch_size=(4, 2), in_chans=3,
                              num_classes=3, depth=1, embed_dim=16, num_heads=2).eval()
    images, target = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 2])
    expected = torch.zeros(2, 8, 8)
    with torch.no_grad():
        logit = model(images).gather(1, target[:, None])[:, 0]
        for row in range(2):
            for col in range(4):
                window = (slice(None), slice(None), slice(4 * row, 4 * row + 4), slice(2 * col, 2 * col + 2))
                occluded = images.clone()
                occluded[window] = 0.0
                drop = logit - model(occluded).gather(1, target[:, None])[:, 0]
                expected[:, 4 * row:4 * row + 4, 2 * col:2 * col + 2] = drop[:, None, None]
    got = create_explainer("occlusion", model).attribute(images, target)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    assert expected.abs().max() > 1e-3


def _conservative_copy(model: nn.Module) -> nn.Module:
    """An independent CP-LRP model for the hand computation: a deep copy of the timm model with its LayerNorms and
    GELUs replaced in place (iabench computes the same through the seam's forward, without copying)."""
    clone = copy.deepcopy(model).eval()
    for module in list(clone.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.LayerNorm):
                setattr(module, name, _ConservativeLayerNorm(child))
            elif isinstance(child, nn.GELU):
                setattr(module, name, _ConservativeGELU(child))
    return clone


def _attention_and_grads(model: nn.Module, images: torch.Tensor, target: int) -> tuple[list, list]:
    with capture_attention(model) as captured:
        logit = model(images)[0, target]
        grads = torch.autograd.grad(logit, list(captured))
    return [a.detach() for a in captured], list(grads)


def test_transformer_attribution_matches_a_hand_computation() -> None:
    """transformer-attribution-cp: Chefer CVPR'21 Eq. 13-14 with per block the head mean of (dA * R_A)+, with dA the
    model's attention gradient and R_A = A * dA taken on the CP-LRP copy; rolled out from I by R += Ā R."""
    torch.manual_seed(0)
    model = create_model("vit", MICRO).eval()
    images = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    _, grads = _attention_and_grads(model, images, 2)
    cp_attentions, cp_grads = _attention_and_grads(_conservative_copy(model), images, 2)
    relevance = torch.eye(5, dtype=torch.float64)
    for g, a_cp, g_cp in zip(grads, cp_attentions, cp_grads):
        step = (g * a_cp * g_cp).clamp(min=0).mean(dim=1)[0].double()
        relevance = relevance + step @ relevance
    expected = upsample_patch_map(relevance[0, 1:].float().reshape(1, 2, 2), (8, 8))
    got = create_explainer("transformer-attribution-cp", model).attribute(images, [2])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6 * expected.abs().max().item())
    assert expected[0].std() > 0.01 * expected.abs().max()  # not a flat map


