"""The LRP of Chefer, Gur & Wolf 2021 (CVPR, Sec. 3) for a timm ViT: relevance from the target class down to
every block's attention probabilities (R_A), as the authors' public code computes it.

Rules (relevance R is propagated explicitly, not through autograd's gradient):
- Linear layers (head, qkv, proj, MLP), LRP-alpha1-beta0 (paper Eq. 4): positive contributions only,
  R_j = sum_i (x_j+ w_ij+ + x_j- w_ij-) / sum_j' (x_j'+ w_ij'+ + x_j'- w_ij'-) R_i; the bias takes no share.
- LayerNorm, GELU and softmax, the gradient rule (paper Eq. 3): R_in = x ⊙ ∂y/∂x^T (R / y), with the full
  Jacobian (the standard deviation is not detached, unlike CP-LRP and AttnLRP).
- Matrix products A·v and q·kᵀ: the same rule to each factor, then halved (as the code does).
- Residual sums, the normalised rule of paper Eq. 10-11: each summand's relevance is rescaled so that the
  two together hold the output's total, shared in proportion to their absolute totals. Per image here;
  the authors' code sums over the whole batch (it explains one image at a time).
- The class-token read-out: all relevance goes to the class token.
The relevance starts as 1 on the target class (a one-hot vector), as in the authors' code. Division by
zero is guarded as there: z / (z + 1e-9 sign z), and 0 where z = 0.

Written by hand because no maintained library implements these rules for timm models (Captum's LRP has
no rule for attention, LayerNorm or GELU). Blocks with LayerScale, gated or normalised q/k, or other
extras than the plain ViT block are refused with a TypeError. Computed in float64 (see below).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from iabench.models import vit_backbone

STABILISER = 1e-9


def safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    stabilised = denominator + STABILISER * torch.where(denominator >= 0, 1.0, -1.0)
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / stabilised)


def gradient_rule(function, inputs: tuple[torch.Tensor, ...], relevance: torch.Tensor) -> list[torch.Tensor]:  # noqa: ANN001
    """x ⊙ (∂f/∂x)^T (R / f(x)) for each input x of ``function`` (paper Eq. 3)."""
    with torch.enable_grad():
        leaves = [x.detach().requires_grad_(True) for x in inputs]
        out = function(*leaves)
        grads = torch.autograd.grad(out, leaves, grad_outputs=safe_divide(relevance, out.detach()))
    return [x.detach() * g for x, g in zip(leaves, grads)]


def alpha1_beta0(x: torch.Tensor, weight: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    """LRP-alpha1-beta0 through y = x W^T (bias ignored), paper Eq. 4."""
    pos_w, neg_w, pos_x, neg_x = weight.clamp(min=0), weight.clamp(max=0), x.clamp(min=0), x.clamp(max=0)
    ratio = safe_divide(relevance, F.linear(pos_x, pos_w) + F.linear(neg_x, neg_w))
    return pos_x * (ratio @ pos_w) + neg_x * (ratio @ neg_w)


def normalised_add(a: torch.Tensor, b: torch.Tensor, relevance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Residual sum a + b, paper Eq. 10-11, per image."""
    rel_a, rel_b = gradient_rule(torch.add, (a, b), relevance)
    sum_a, sum_b = rel_a.flatten(1).sum(1), rel_b.flatten(1).sum(1)
    total, share = relevance.flatten(1).sum(1), sum_a.abs() + sum_b.abs()
    scale_a = safe_divide(safe_divide(sum_a.abs(), share) * total, sum_a)
    scale_b = safe_divide(safe_divide(sum_b.abs(), share) * total, sum_b)
    shape = (-1,) + (1,) * (a.ndim - 1)
    return rel_a * scale_a.reshape(shape), rel_b * scale_b.reshape(shape)


def _check_block(block: nn.Module) -> None:
    plain = (block.ls1, block.ls2, block.attn.q_norm, block.attn.k_norm, block.attn.norm, block.mlp.norm)
    if any(not isinstance(m, nn.Identity) for m in plain) or getattr(block.attn, "gate", None) is not None:
        raise TypeError("Chefer's LRP here supports plain ViT blocks only (no LayerScale, q/k norm or gate)")


def _layer_norm(norm: nn.LayerNorm):  # noqa: ANN202 - a function of one tensor
    return lambda x: F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _attention_relprop(attn: nn.Module, x: torch.Tensor, relevance: torch.Tensor,
                       saved: list[torch.Tensor]) -> torch.Tensor:
    """Relevance at the attention's input ``x``; appends R_A (B, heads, T, T) to ``saved``."""
    batch, tokens, dim = x.shape
    qkv = F.linear(x, attn.qkv.weight, attn.qkv.bias)
    q, k, v = qkv.reshape(batch, tokens, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    scores = (q * attn.scale) @ k.transpose(-2, -1)
    probs = scores.softmax(dim=-1)
    heads_out = (probs @ v).transpose(1, 2).reshape(batch, tokens, -1)
    relevance = alpha1_beta0(heads_out, attn.proj.weight, relevance)
    relevance = relevance.reshape(batch, tokens, attn.num_heads, attn.head_dim).transpose(1, 2)
    rel_probs, rel_v = (r / 2 for r in gradient_rule(torch.matmul, (probs, v), relevance))
    saved.append(rel_probs)
    (rel_scores,) = gradient_rule(lambda s: s.softmax(dim=-1), (scores,), rel_probs)
    rel_q, rel_k = (r / 2 for r in gradient_rule(lambda a, b: a @ b.transpose(-2, -1), (q, k), rel_scores))
    rel_qkv = torch.stack([rel_q, rel_k, rel_v]).permute(1, 3, 0, 2, 4).reshape(batch, tokens, 3 * dim)
    return alpha1_beta0(x, attn.qkv.weight, rel_qkv)


@torch.no_grad()
def attention_relevance(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
    """R_A of every block, in forward order, each (B, heads, T, T), for the ``target`` classes (B,)."""
    vit = vit_backbone(model)
    if vit.global_pool != "token" or not isinstance(vit.fc_norm, nn.Identity):
        raise TypeError("Chefer's LRP here needs a class-token read-out (global_pool='token')")
    for block in vit.blocks:
        _check_block(block)
    # In float64, on a copy: below the last LayerNorm every relevance total is a difference of near-equal
    # numbers (x ⊙ ∂LN/∂x sums to ~eps per token, LayerNorm being scale-invariant), which float32 would drown.
    vit64 = copy.deepcopy(vit).double().eval()  # eval: dropout and drop-path off, as in the explained forward
    relevances = _relprop(vit64, inputs.double(), target)
    return [r.to(inputs.dtype) for r in relevances]


def _relprop(vit: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
    tokens = vit.norm_pre(vit._pos_embed(vit.patch_embed(inputs)))
    block_inputs = []
    for block in vit.blocks:
        block_inputs.append(tokens)
        tokens = block(tokens)
    normed = vit.norm(tokens)
    relevance = torch.zeros_like(normed)
    one_hot = F.one_hot(target, vit.head.out_features).to(normed.dtype)
    relevance[:, 0] = alpha1_beta0(normed[:, 0], vit.head.weight, one_hot)
    (relevance,) = gradient_rule(_layer_norm(vit.norm), (tokens,), relevance)
    saved: list[torch.Tensor] = []
    for block, x in zip(reversed(vit.blocks), reversed(block_inputs)):
        mid = x + block.attn(block.norm1(x))
        hidden = block.mlp.act(block.mlp.fc1(block.norm2(mid)))
        rel_mid, rel_mlp = normalised_add(mid, block.mlp.fc2(hidden), relevance)
        rel_mlp = alpha1_beta0(hidden, block.mlp.fc2.weight, rel_mlp)
        (rel_mlp,) = gradient_rule(block.mlp.act, (block.mlp.fc1(block.norm2(mid)),), rel_mlp)
        rel_mlp = alpha1_beta0(block.norm2(mid), block.mlp.fc1.weight, rel_mlp)
        (rel_mlp,) = gradient_rule(_layer_norm(block.norm2), (mid,), rel_mlp)
        rel_x, rel_attn = normalised_add(x, block.attn(block.norm1(x)), rel_mid + rel_mlp)
        rel_attn = _attention_relprop(block.attn, block.norm1(x), rel_attn, saved)
        (rel_attn,) = gradient_rule(_layer_norm(block.norm1), (x,), rel_attn)
        relevance = rel_x + rel_attn
    return saved[::-1]
