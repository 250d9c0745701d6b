"""The LRP of Chefer, Gur & Wolf 2021 (CVPR, Sec. 3) for a ViT of any family (read through the seam): relevance
from the target class down to every block's attention probabilities (R_A), with the rules of the authors' public code
(hila-chefer/Transformer-Explainability, ``modules/layers_ours.py`` and ``baselines/ViT/ViT_LRP.py``).

Rules (relevance R is propagated explicitly, not through autograd's gradient):
- Linear layers (head, qkv, proj, MLP), LRP-alpha1-beta0 (paper Eq. 4): positive contributions only,
  R_j = sum_i (x_j+ w_ij+ + x_j- w_ij-) / sum_j' (x_j'+ w_ij'+ + x_j'- w_ij'-) R_i; the bias takes no share.
- LayerNorm, GELU, softmax and dropout: relevance passes unchanged (the code's default ``relprop``).
- Matrix products A·v and q·kᵀ: gradient x input on each factor, R_a = a ⊙ ∂z/∂a^T (R / z) (paper Eq. 3),
  then halved, as the code does; the 1/sqrt(d) scale passes relevance unchanged.
- Residual sums, the normalised rule of paper Eq. 10-11: each summand's relevance (gradient x input) is
  rescaled so that the two together hold the output's total, shared in proportion to their absolute totals.
  Per image here; the code sums over the whole batch (it explains one image at a time).
- Where the residual stream branches (the block's input feeds the residual and the attention, the middle feeds
  the residual and the MLP), the branches' relevances are joined as the code's ``Clone.relprop`` does:
  x * sum_i R_i / (x + 1e-9), which drops the relevance on an element where x = 0 (and shrinks it where x is
  near 0) instead of adding it. The class-token read-out (``IndexSelect.relprop``): all relevance goes to the
  class token, by the same rule. Relevance starts as 1 on the target class (a one-hot vector), as in the code.
- Every division is the code's ``safe_divide``: a / (b + 1e-9), 0 where b = 0.

Written by hand because no maintained library implements these rules for timm models (Captum's LRP has
no rule for attention, LayerNorm or GELU). Blocks with LayerScale, q/k norms, a head width other than
dim / heads, and models without a single linear class-token head (a distilled DeiT), are refused with a TypeError.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from iabench.baselines._vit import eval_mode
from iabench.models import Seam, SeamForward, seam_of
from iabench.models.forward import SeamBlock
from iabench.models.seam import BlockParts

STABILISER = 1e-9


def safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / (denominator + 1e-9), and 0 where the denominator is 0: the authors' ``safe_divide``."""
    shifted = denominator + STABILISER
    shifted = torch.where(shifted == 0, torch.full_like(shifted, STABILISER), shifted)
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / shifted)


def alpha1_beta0(x: torch.Tensor, weight: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    """LRP-alpha1-beta0 through y = x W^T (bias ignored), paper Eq. 4."""
    pos_w, neg_w, pos_x, neg_x = weight.clamp(min=0), weight.clamp(max=0), x.clamp(min=0), x.clamp(max=0)
    ratio = safe_divide(relevance, F.linear(pos_x, pos_w) + F.linear(neg_x, neg_w))
    return pos_x * (ratio @ pos_w) + neg_x * (ratio @ neg_w)


def product_rule(a: torch.Tensor, b: torch.Tensor, relevance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """z = a @ b: gradient x input on each factor, a ⊙ (S b^T) and b ⊙ (a^T S) with S = R / z, each halved."""
    ratio = safe_divide(relevance, a @ b)
    return a * (ratio @ b.transpose(-2, -1)) / 2, b * (a.transpose(-2, -1) @ ratio) / 2


def normalised_add(a: torch.Tensor, b: torch.Tensor, relevance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Residual sum a + b, paper Eq. 10-11, per image."""
    ratio = safe_divide(relevance, a + b)
    rel_a, rel_b = a * ratio, b * ratio
    sum_a, sum_b = rel_a.flatten(1).sum(1), rel_b.flatten(1).sum(1)
    total, share = relevance.flatten(1).sum(1), sum_a.abs() + sum_b.abs()
    scale_a = safe_divide(safe_divide(sum_a.abs(), share) * total, sum_a)
    scale_b = safe_divide(safe_divide(sum_b.abs(), share) * total, sum_b)
    shape = (-1,) + (1,) * (a.ndim - 1)
    return rel_a * scale_a.reshape(shape), rel_b * scale_b.reshape(shape)


def clone_relprop(x: torch.Tensor, *branches: torch.Tensor) -> torch.Tensor:
    """The relevance at ``x``, which fed several branches: x * sum_i R_i / (x + 1e-9), 0 where x = 0 (the code's
    ``Clone.relprop``; with one branch its ``IndexSelect.relprop``)."""
    return x * sum(safe_divide(r, x) for r in branches)


def _check(seam: Seam) -> None:
    if len(seam.readout) != 1 or seam.readout[0][0] != 0:
        raise TypeError("Chefer's LRP here needs one linear head on the class token (not a distilled model)")
    for parts in seam.layers:
        plain = (parts.ls1, parts.ls2, parts.q_norm, parts.k_norm, parts.context_norm, parts.hidden_norm)
        if any(m is not None and not isinstance(m, nn.Identity) for m in plain):
            raise TypeError("Chefer's LRP here supports plain ViT blocks only (no LayerScale or q/k norm)")
        if parts.num_heads * parts.head_dim != parts.to_out.in_features:
            raise TypeError("Chefer's LRP here needs heads x head width = the model width")


def _attention_relprop(step: SeamBlock, parts: BlockParts, x: torch.Tensor,
                       relevance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(relevance at the attention's input ``x``, R_A (B, heads, T, T))."""
    batch, tokens, dim = x.shape
    q, k, v = step.project_qkv(x)
    probs = ((q * step.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
    heads_out = (probs @ v).transpose(1, 2).reshape(batch, tokens, dim)
    relevance = alpha1_beta0(heads_out, parts.to_out.weight, relevance)
    relevance = relevance.reshape(batch, tokens, step.num_heads, step.head_dim).transpose(1, 2)
    rel_probs, rel_v = product_rule(probs, v, relevance)
    # softmax and scale: unchanged, so the scores' relevance is R_A itself
    rel_q, rel_k_t = product_rule(q, k.transpose(-2, -1), rel_probs)
    rel_qkv = torch.stack([rel_q, rel_k_t.transpose(-2, -1), rel_v]).permute(1, 3, 0, 2, 4).reshape(
        batch, tokens, 3 * dim)
    return alpha1_beta0(x, parts.qkv_weight, rel_qkv), rel_probs


@torch.no_grad()
def attention_relevance(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
    """R_A of every block, in forward order, each (B, heads, T, T), for the ``target`` classes (B,)."""
    seam = seam_of(model)
    _check(seam)
    forward = SeamForward(seam)
    with eval_mode(forward):  # dropout and drop-path off, as in the explained forward
        tokens = forward.tokens(inputs)
        steps = []  # per block: its input, the attention's output, the MLP's hidden activation
        for step, parts in zip(forward.steps, seam.layers):
            # the attention's output as the model computes it (fused where its library fuses it)
            attended = parts.own_attention(step.pre_attention(tokens)) if parts.own_attention is not None \
                else step.attend(tokens, forward)
            mid = tokens + attended
            hidden = step.act(step.fc1(step.pre_mlp(mid)))
            steps.append((tokens, attended, hidden))
            tokens = mid + step.fc2(hidden)
        normed = forward.final_norm(tokens)
        head = seam.readout[0][1]
        relevance = torch.zeros_like(normed)  # the final norm passes it unchanged
        one_hot = F.one_hot(target, head.out_features).to(normed.dtype)
        relevance[:, 0] = clone_relprop(normed[:, 0], alpha1_beta0(normed[:, 0], head.weight, one_hot))
        saved: list[torch.Tensor] = []
        for step, parts, (x, attended, hidden) in zip(reversed(forward.steps), reversed(seam.layers), reversed(steps)):
            mid = x + attended
            rel_mid, rel_mlp = normalised_add(mid, step.fc2(hidden), relevance)
            rel_mlp = alpha1_beta0(hidden, step.fc2.weight, rel_mlp)  # then GELU: unchanged
            rel_mlp = alpha1_beta0(step.pre_mlp(mid), step.fc1.weight, rel_mlp)  # then the norm: unchanged
            rel_x, rel_attn = normalised_add(x, attended, clone_relprop(mid, rel_mid, rel_mlp))
            rel_attn, r_a = _attention_relprop(step, parts, step.pre_attention(x), rel_attn)  # then the norm
            saved.append(r_a)
            relevance = clone_relprop(x, rel_x, rel_attn)
    return saved[::-1]
