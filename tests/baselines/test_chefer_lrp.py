"""Chefer et al. 2021's LRP: R_A of one- and two-block ViTs with hand-set weights against the rules of the authors'
code worked out here in NumPy with explicit sums (no autograd, no iabench code), and the attribution built on it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from iabench.baselines import create_explainer
from iabench.baselines._chefer_lrp import attention_relevance, clone_relprop, normalised_add
from iabench.baselines._vit import attention_with_grads

EPS = 1e-6  # timm's LayerNorm eps in a VisionTransformer


VALUES = [0.7, -0.4, 0.25, 1.1, -0.9, 0.5, 0.3, -0.6, 0.8, 0.15, -0.35, 0.45]


def _tiny_vit(shift: int = 0, depth: int = 1) -> VisionTransformer:
    """Three tokens (class + two 1x1 patches), width 3, one head,
    ``depth`` blocks; every weight set by hand: norm scales fixed, the rest VALUES rotated by ``shift``, repeated."""
    model = VisionTransformer(img_size=(1, 2), patch_size=1, in_chans=1, num_classes=2, embed_dim=3, depth=depth,
                              num_heads=1, mlp_ratio=1.0, class_token=True).eval().double()
    values = iter(np.tile(np.roll(VALUES, shift), 20))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                parameter.copy_(torch.tensor([1.2, 0.8, 1.0]))
            else:
                parameter.copy_(torch.tensor([next(values) for _ in range(parameter.numel())]).reshape(parameter.shape))
    return model


def _ln(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu, sigma = x.mean(), math.sqrt(x.var() + EPS)
    return (x - mu) / sigma * w + b


def _ab(x: np.ndarray, weight: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """alpha1-beta0: each input j gets sum_i (x_j w_ij)+ / sum_j' (x_j' w_ij')+ R_i."""
    out = np.zeros(x.shape)
    for t in range(x.shape[0]):
        for i in range(weight.shape[0]):
            pos = np.array([max(x[t, j] * weight[i, j], 0.0) if x[t, j] * weight[i, j] > 0 else 0.0
                            for j in range(x.shape[1])])
            if pos.sum() > 0:  # no positive contribution: nothing to pass on
                out[t] += pos / pos.sum() * rel[t, i]
    return out


def _norm_add(a: np.ndarray, b: np.ndarray, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ratio = np.divide(rel, a + b, out=np.zeros(rel.shape), where=(a + b) != 0)  # the code's safe_divide at 0
    ra, rb = a * ratio, b * ratio
    total, sa, sb = rel.sum(), ra.sum(), rb.sum()
    return ra * (abs(sa) / (abs(sa) + abs(sb)) * total) / sa, rb * (abs(sb) / (abs(sa) + abs(sb)) * total) / sb


def _clone(x: np.ndarray, *rels: np.ndarray) -> np.ndarray:
    """The authors' Clone.relprop: x * sum_i R_i / (x + 1e-9), 0 where x = 0."""
    return sum(np.divide(x * r, x + 1e-9, out=np.zeros(x.shape), where=x != 0) for r in rels)


def _summed(x: np.ndarray, *rels: np.ndarray) -> np.ndarray:
    """The branches' relevances added, with no regard to x: what the Clone rule differs from."""
    return sum(rels)


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _block_forward(p: dict[str, np.ndarray], b: str, x: np.ndarray) -> dict[str, np.ndarray]:
    f = {"x": x, "n1": np.stack([_ln(t, p[b + "norm1.weight"], p[b + "norm1.bias"]) for t in x])}
    qkv = f["n1"] @ p[b + "attn.qkv.weight"].T + p[b + "attn.qkv.bias"]
    f["q"], f["k"], f["v"] = qkv[:, :3], qkv[:, 3:6], qkv[:, 6:]
    f["scores"] = f["q"] @ f["k"].T / math.sqrt(3)
    f["probs"] = np.exp(f["scores"]) / np.exp(f["scores"]).sum(1, keepdims=True)
    f["heads"] = f["probs"] @ f["v"]
    f["mid"] = x + f["heads"] @ p[b + "attn.proj.weight"].T + p[b + "attn.proj.bias"]
    f["n2"] = np.stack([_ln(t, p[b + "norm2.weight"], p[b + "norm2.bias"]) for t in f["mid"]])
    f["pre"] = f["n2"] @ p[b + "mlp.fc1.weight"].T + p[b + "mlp.fc1.bias"]
    f["hidden"] = _gelu(f["pre"])
    f["mlp"] = f["hidden"] @ p[b + "mlp.fc2.weight"].T + p[b + "mlp.fc2.bias"]
    f["out"] = f["mid"] + f["mlp"]
    return f


def _block_relprop(p: dict[str, np.ndarray], b: str, f: dict[str, np.ndarray], rel: np.ndarray,
                   join=_clone) -> tuple[np.ndarray, np.ndarray]:
    """Relevance at the block's input, and R_A."""
    rel_mid, rel_mlp = _norm_add(f["mid"], f["mlp"], rel)
    rel_mlp = _ab(f["hidden"], p[b + "mlp.fc2.weight"], rel_mlp)  # GELU passes relevance unchanged
    rel_mlp = _ab(f["n2"], p[b + "mlp.fc1.weight"], rel_mlp)  # and so do the LayerNorms
    rel_mid = join(f["mid"], rel_mid, rel_mlp)
    rel_x, rel_attn = _norm_add(f["x"], f["mid"] - f["x"], rel_mid)
    rel_out = _ab(f["heads"], p[b + "attn.proj.weight"], rel_attn)
    a, q, k, v, o = f["probs"], f["q"], f["k"], f["v"], f["heads"]
    n, d = range(3), range(3)
    # products: the gradient rule on each factor, halved, e.g. R_A[i, j] = 1/2 sum_d A_ij v_jd R_id / (A v)_id
    r_a = np.array([[0.5 * sum(a[i, j] * v[j, e] * rel_out[i, e] / o[i, e] for e in d) for j in n] for i in n])
    r_v = np.array([[0.5 * sum(a[i, j] * v[j, e] * rel_out[i, e] / o[i, e] for i in n) for e in d] for j in n])
    r_s = r_a  # the softmax passes relevance unchanged
    qk = q @ k.T
    r_q = np.array([[0.5 * sum(q[i, e] * k[j, e] * r_s[i, j] / qk[i, j] for j in n) for e in d] for i in n])
    r_k = np.array([[0.5 * sum(q[i, e] * k[j, e] * r_s[i, j] / qk[i, j] for i in n) for e in d] for j in n])
    rel_n1 = _ab(f["n1"], p[b + "attn.qkv.weight"], np.hstack([r_q, r_k, r_v]))
    return join(f["x"], rel_x, rel_n1), r_a


def _expected_r_a(model: VisionTransformer, image: np.ndarray, target: int, join=_clone) -> list[np.ndarray]:
    p = {k: v.detach().numpy().squeeze() for k, v in model.named_parameters()}
    patches = np.outer(image.flatten(), p["patch_embed.proj.weight"]) + p["patch_embed.proj.bias"]
    x = np.vstack([p["cls_token"][None], patches]) + p["pos_embed"]
    forwards = []
    for b in range(len(model.blocks)):
        forwards.append(_block_forward(p, f"blocks.{b}.", x))
        x = forwards[-1]["out"]
    final = np.stack([_ln(t, p["norm.weight"], p["norm.bias"]) for t in x])
    rel = np.zeros((3, 3))
    rel[0] = join(final[0], _ab(final[:1], p["head.weight"], np.eye(2)[target][None])[0])
    r_as = []
    for b in reversed(range(len(model.blocks))):
        rel, r_a = _block_relprop(p, f"blocks.{b}.", forwards[b], rel, join)
        r_as.insert(0, r_a)
    return r_as


@pytest.mark.parametrize(("shift", "target", "depth"), [(0, 0, 1), (0, 1, 1), (7, 0, 1), (0, 0, 2), (7, 1, 2)])
def test_attention_relevance_of_a_hand_set_vit(shift: int, target: int, depth: int) -> None:
    model = _tiny_vit(shift, depth)
    image = torch.tensor([[[[0.9, -1.3]]]], dtype=torch.float64)
    r_as = attention_relevance(model, image, torch.tensor([target]))
    expected = _expected_r_a(model, image.numpy(), target)
    assert len(r_as) == len(expected) == depth
    for r_a, want in zip(r_as, expected):
        np.testing.assert_allclose(r_a[0, 0].numpy(), want, rtol=1e-6, atol=1e-9)
        assert np.abs(want).max() > 1e-4  # a non-trivial answer in every block


def _zero_in_the_stream(where: str, feature: int) -> tuple[VisionTransformer, torch.Tensor]:
    """A two-block ViT whose residual stream holds one exact zero, in the class token's ``feature``: at the middle of
    the first block ('mid') or at the input of the second ('input'). That row of the first block's attention
    projection (and for 'input' of its fc2) is zero and the bias cancels the class token's embedding, so the zero
    is exact in NumPy too (one addition of the same two numbers)."""
    model, image = _tiny_vit(shift=7, depth=2), torch.tensor([[[[0.9, -1.3]]]], dtype=torch.float64)
    first = model.blocks[0]
    with torch.no_grad():
        x = model._pos_embed(model.patch_embed(image))
        first.attn.proj.weight[feature] = 0.0
        if where == "mid":
            first.attn.proj.bias[feature] = -x[0, 0, feature]
            assert (x + first.attn(first.norm1(x)))[0, 0, feature] == 0
        else:
            first.mlp.fc2.weight[feature] = 0.0
            first.mlp.fc2.bias[feature] = -(x[0, 0, feature] + first.attn.proj.bias[feature])
            assert first(x)[0, 0, feature] == 0
    return model, image


@pytest.mark.parametrize("where", ["mid", "input"])
def test_a_zero_in_the_residual_stream_drops_its_relevance_as_the_authors_clone_does(where: str) -> None:
    model, image = _zero_in_the_stream(where, feature=2)
    expected = _expected_r_a(model, image.numpy(), 0)
    summed = _expected_r_a(model, image.numpy(), 0, join=_summed)
    # the rule matters here: adding the branches' relevances instead moves R_A of the first block by 38 % ('mid') and
    # 24 % ('input') of its largest value (the zero element's relevance changes the total the residual sum shares)
    assert np.abs(summed[0] - expected[0]).max() > 0.1 * np.abs(expected[0]).max()
    for r_a, want in zip(attention_relevance(model, image, torch.tensor([0])), expected):
        np.testing.assert_allclose(r_a[0, 0].numpy(), want, rtol=1e-6, atol=1e-9)


def test_clone_relprop_by_hand() -> None:
    x = torch.tensor([[2.0, 0.0, 1e-9, -1.0]], dtype=torch.float64)
    r1 = torch.tensor([[0.5, 0.7, 0.4, 0.3]], dtype=torch.float64)
    r2 = torch.tensor([[0.25, 0.1, 0.2, -0.1]], dtype=torch.float64)
    # 2 (0.5 + 0.25) / (2 + 1e-9); 0 at x = 0; 1e-9 x 0.6 / 2e-9 = 0.3; -1 x 0.2 / (-1 + 1e-9)
    want = [[0.75 / (1 + 5e-10), 0.0, 0.3, -0.2 / (-1 + 1e-9)]]
    np.testing.assert_allclose(clone_relprop(x, r1, r2).numpy(), want, rtol=1e-12)


def test_normalised_add_keeps_the_total_and_shares_by_absolute_totals() -> None:
    a = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[-2.0, 1.0]], dtype=torch.float64)
    rel = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    rel_a, rel_b = normalised_add(a, b, rel)
    # before: a R / (a + b) = [-1, 1.5] (sum 0.5), b R / (a + b) = [2, 0.5] (sum 2.5); shares 0.5/3 and 2.5/3 of 3
    np.testing.assert_allclose(rel_a.numpy(), [[-1.0, 1.5]])
    np.testing.assert_allclose(rel_b.numpy(), [[2.0, 0.5]])
    rel_a, _ = normalised_add(a, b, torch.tensor([[2.0, 1.0]], dtype=torch.float64))
    # a R/(a+b) = [-2, 0.75] (sum -1.25), b R/(a+b) = [4, 0.25] (sum 4.25); a keeps 1.25/5.5 of 3 with its shape
    np.testing.assert_allclose(rel_a.numpy(), np.array([[-2.0, 0.75]]) * (1.25 / 5.5 * 3) / -1.25)


def test_transformer_attribution_rolls_out_gradient_weighted_relevance() -> None:
    model = _tiny_vit(shift=7)  # weights for which both patches get a positive gradient x relevance
    image, target = torch.tensor([[[[0.9, -1.3]]]], dtype=torch.float64), torch.tensor([0])
    (r_a,) = attention_relevance(model, image, target)
    _, (grad,) = attention_with_grads(model, image, target)
    weighted = (grad * r_a).clamp(min=0).mean(dim=1)[0]
    expected = (torch.eye(3, dtype=torch.float64) + weighted)[0, 1:]  # one block: C = I + Ā, CLS row
    assert expected.abs().min() > 1e-4  # both patches get a positive weight: a non-trivial map
    saliency = create_explainer("transformer-attribution", model).attribute(image, target)
    # the (1, 2) patch grid is upsampled to the (1, 2) image unchanged
    np.testing.assert_allclose(saliency[0, 0].double().numpy(), expected.numpy(), rtol=1e-5)
    cp = create_explainer("transformer-attribution-cp", model).attribute(image, target)
    assert not torch.allclose(saliency, cp)
