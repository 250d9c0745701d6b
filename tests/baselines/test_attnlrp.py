"""AttnLRP: each rule against a hand computation on a tiny tensor, exact conservation of the product rule,
and the whole-model budget (logit = input relevance + what the softmaxes absorbed, when nothing else absorbs)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer

from iabench.baselines import create_explainer
from iabench.baselines._lrp_rules import epsilon_output, relevance_of, uniform_matmul
from iabench.baselines.attnlrp import AttnLRPForward, _Epsilon
from iabench.baselines.lrp import _ConservativeGELU, _ConservativeLayerNorm
from iabench.models import create_model, get_preset


def _close(actual: torch.Tensor, expected: list[float]) -> None:
    assert torch.allclose(actual.flatten(), torch.tensor(expected, dtype=actual.dtype), atol=1e-5), actual


def test_epsilon_rule_of_a_linear_layer() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    weight, bias = torch.tensor([[1.0, -1.0], [2.0, 1.0]]), torch.tensor([0.5, 0.0])
    z = epsilon_output(F.linear(x, weight, bias), 0.1)  # z = [-0.5, 4]
    (relevance,) = relevance_of((x,), z, torch.tensor([1.0, 2.0]))
    # R_i = sum_j x_i w_ji R_j / (z_j + 0.1 sign z_j), denominators -0.6 and 4.1
    _close(relevance, [1 * 1 * 1 / -0.6 + 1 * 2 * 2 / 4.1, 2 * -1 * 1 / -0.6 + 2 * 1 * 2 / 4.1])


def test_softmax_rule_is_the_taylor_rule_with_its_bias_term() -> None:
    x = torch.tensor([1.0, 2.0, 0.0], requires_grad=True)
    out_relevance = [0.5, -1.0, 2.0]
    (relevance,) = relevance_of((x,), x.softmax(0), torch.tensor(out_relevance))
    exps = [math.exp(v) for v in (1.0, 2.0, 0.0)]
    s = [e / sum(exps) for e in exps]
    total = sum(out_relevance)
    _close(relevance, [xi * (ri - si * total) for xi, ri, si in zip((1.0, 2.0, 0.0), out_relevance, s)])
    assert abs(relevance.sum().item() - total) > 0.1  # the bias term absorbs: not conservative


def test_uniform_rule_splits_each_product_term_in_half() -> None:
    a = torch.tensor([[1.0, 2.0]], requires_grad=True)
    b = torch.tensor([[3.0], [-1.0]], requires_grad=True)  # a @ b = 1
    rel_a, rel_b = relevance_of((a, b), uniform_matmul(a, b, 0.0), torch.tensor([[2.0]]))
    _close(rel_a, [3.0, -2.0])  # half of a_i b_i R / (a @ b) = half of [3, -2] * 2
    _close(rel_b, [3.0, -2.0])
    rel_a, _ = relevance_of((a, b), uniform_matmul(a, b, 0.5), torch.tensor([[2.0]]))
    _close(rel_a, [3.0 / 1.5, -2.0 / 1.5])  # epsilon on the sum first: R / (1 + 0.5)


def test_product_rule_conserves_exactly() -> None:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(2, 3, 5, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 3, 4, 6, generator=generator, dtype=torch.float64, requires_grad=True)
    out_relevance = torch.randn(2, 3, 5, 6, generator=generator, dtype=torch.float64)
    rel_a, rel_b = relevance_of((a, b), uniform_matmul(a, b, 0.0), out_relevance)
    torch.testing.assert_close(rel_a.sum() + rel_b.sum(), out_relevance.sum(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rel_a.sum(), rel_b.sum(), rtol=1e-12, atol=1e-12)  # uniform: half each


def test_layernorm_identity_rule() -> None:
    norm = _ConservativeLayerNorm(torch.nn.LayerNorm(2, eps=0.0, elementwise_affine=False))
    x = torch.tensor([1.0, 3.0], requires_grad=True)  # centred [-1, 1], std 1
    (relevance,) = relevance_of((x,), norm(x), torch.tensor([1.0, 2.0]))
    # the centring is linear: R_j = sum_i x_j (delta_ij - 1/2) R_i / c_i, with c = [-1, 1], R = [1, 2]
    _close(relevance, [1 * (0.5 * 1 / -1 - 0.5 * 2 / 1), 3 * (-0.5 * 1 / -1 + 0.5 * 2 / 1)])


def test_gelu_identity_rule() -> None:
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    (relevance,) = relevance_of((x,), _ConservativeGELU(torch.nn.GELU())(x), torch.tensor([1.0, 2.0, 3.0]))
    _close(relevance, [1.0, 2.0, 3.0])


def _zero_absorbers(model: torch.nn.Module) -> torch.nn.Module:
    """Biases, class token and position embedding to zero: then only the softmaxes absorb relevance."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias") or name.endswith(("pos_embed", "cls_token")):
                parameter.zero_()
    return model


@pytest.mark.parametrize("build", ["ours", "timm"])
def test_logit_is_input_relevance_plus_softmax_absorption(build: str) -> None:
    torch.manual_seed(0)
    if build == "ours":
        model = create_model("ia-vit", get_preset("vit-tiny-fmnist").model)
        images = torch.randn(3, 1, 28, 28)
    else:  # a plain timm ViT, not one of ours
        model = VisionTransformer(img_size=16, patch_size=8, embed_dim=8, depth=2, num_heads=2, num_classes=3)
        images = torch.randn(3, 3, 16, 16)
    model = _zero_absorbers(model.eval())
    target = torch.tensor([0, 1, 2])
    budget = create_explainer("attnlrp", model, epsilon=0.0).relevance_budget(images, target)
    logits = model(images).gather(1, target[:, None]).flatten().detach()
    torch.testing.assert_close(budget["logit"], logits)
    torch.testing.assert_close(budget["input"] + budget["absorbed"], logits, rtol=1e-4, atol=1e-5)
    assert budget["absorbed"].abs().min() > 1e-3  # the softmaxes do absorb: the test can tell them apart


def test_map_is_the_input_relevance_and_differs_from_cp_lrp() -> None:
    torch.manual_seed(0)
    model = create_model("vit", get_preset("vit-tiny-fmnist").model).eval()
    images, target = torch.randn(2, 1, 28, 28), torch.tensor([3, 4])
    explainer = create_explainer("attnlrp", model)
    saliency = explainer.attribute(images, target)
    budget = explainer.relevance_budget(images, target)
    torch.testing.assert_close(saliency.flatten(1).sum(1), budget["input"], rtol=1e-4, atol=1e-6)
    cp_lrp = create_explainer("lrp", model).attribute(images, target)
    assert (saliency - cp_lrp).abs().max() > 1e-3 * cp_lrp.abs().max()  # relevance also flows through q and k


def test_epsilon_reaches_every_linear_layer_norm_and_the_patch_embedding() -> None:
    torch.manual_seed(0)
    model = _zero_absorbers(create_model("vit", get_preset("vit-tiny-fmnist").model).eval())
    forward = AttnLRPForward(model, 0.1)
    ruled = [m for m in forward.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d | _ConservativeLayerNorm)]
    wrapped = [m.module for m in forward.modules() if isinstance(m, _Epsilon)]
    # 4 blocks x (2 norms + qkv, proj, fc1, fc2) + patch embedding + final norm + head, each wrapped once
    assert len(ruled) == len(wrapped) == 4 * 6 + 3 and all(any(m is w for w in wrapped) for m in ruled)
    assert all(w.epsilon == 0.1 for w in forward.modules() if isinstance(w, _Epsilon))
    images, target = torch.randn(2, 1, 28, 28), torch.tensor([0, 1])
    budget = create_explainer("attnlrp", model, epsilon=0.1).relevance_budget(images, target)
    # with nothing else absorbing, only the epsilon terms break logit = input + absorbed (exact at epsilon 0)
    assert ((budget["logit"] - budget["input"] - budget["absorbed"]).abs() > 1e-3 * budget["logit"].abs()).all()


@pytest.mark.parametrize("name", ["attnlrp", "lrp"])
def test_half_precision_models_are_explained(name: str) -> None:
    torch.manual_seed(0)
    model = create_model("vit", get_preset("vit-tiny-fmnist").model).eval()
    images, target = torch.randn(2, 1, 28, 28), torch.tensor([0, 1])
    full = create_explainer(name, model).attribute(images, target)
    half = create_explainer(name, model.to(torch.bfloat16)).attribute(images.to(torch.bfloat16), target)
    assert half.dtype == torch.float32 and torch.isfinite(half).all()
    assert torch.corrcoef(torch.stack([full.flatten(), half.flatten()]))[0, 1] > 0.9
