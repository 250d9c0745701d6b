"""Attention rollout (baselines/rollout.py): against Abnar & Zuidema's Eq. 1 worked out with loops on known
attention, the identity case, the discard ratio, and its cost (one forward, no target)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from iabench.baselines import create_explainer, upsample_patch_map
from iabench.baselines.rollout import rollout
from iabench.models import create_model, get_preset, vit_backbone

TINY = get_preset("vit-tiny-fmnist").model
MICRO = dataclasses.replace(TINY, img_size=8, patch_size=4, in_chans=3, embed_dim=16, depth=2, num_heads=2,
                            num_classes=3)


def _model(kind: str, config) -> torch.nn.Module:  # noqa: ANN001
    torch.manual_seed(0)
    return create_model(kind, config).eval()


def _images(n: int, config) -> torch.Tensor:  # noqa: ANN001
    return torch.randn(n, config.in_chans, config.img_size, config.img_size, generator=torch.Generator().manual_seed(1))


def _hand_rollout(attentions: list[np.ndarray], fusion: str) -> np.ndarray:
    """Abnar & Zuidema Eq. 1 for one image with explicit loops: A' = norm(0.5 A + 0.5 I), R = A'_2 A'_1."""
    result = np.eye(attentions[0].shape[-1])
    for heads in attentions:
        fused = {"mean": heads.mean(0), "max": heads.max(0), "min": heads.min(0)}[fusion]
        step = 0.5 * fused + 0.5 * np.eye(fused.shape[0])
        for i in range(step.shape[0]):
            step[i] /= step[i].sum()
        result = step @ result
    return result


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
def test_rollout_equals_matrix_computation_on_a_two_layer_model(fusion: str) -> None:
    """A 2-block ViT whose attention is replaced by known row-stochastic matrices (hooked on attn_drop)."""
    config = dataclasses.replace(TINY, img_size=8, depth=2)  # 2x2 patches, T = 5 tokens
    model = _model("vit", config)
    generator = torch.Generator().manual_seed(3)
    known = [torch.softmax(3 * torch.randn(1, 4, 5, 5, generator=generator), dim=-1) for _ in range(2)]
    handles = [block.attn.attn_drop.register_forward_hook(lambda m, i, o, a=a: a.expand_as(o).clone())
               for block, a in zip(vit_backbone(model).blocks, known)]
    try:
        saliency = create_explainer("rollout", model, head_fusion=fusion).attribute(_images(1, config), [0])
    finally:
        for handle in handles:
            handle.remove()
    hand = _hand_rollout([a[0].double().numpy() for a in known], fusion)[0, 1:]
    expected = upsample_patch_map(torch.tensor(hand, dtype=torch.float32).reshape(1, 2, 2), (8, 8))
    torch.testing.assert_close(saliency, expected, rtol=1e-5, atol=1e-7)


def test_rollout_discard_ratio_zeroes_the_lowest_weights() -> None:
    attention = torch.softmax(torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(0)), dim=-1)
    fused = attention[0, 0].double().numpy()
    dropped = fused.copy().ravel()
    lowest = [i for i in np.argsort(dropped, kind="stable")[:8] if i != 0]
    dropped[lowest] = 0
    step = 0.5 * dropped.reshape(4, 4) + 0.5 * np.eye(4)
    step /= step.sum(1, keepdims=True)
    torch.testing.assert_close(rollout([attention], "mean", 0.5)[0].double(), torch.tensor(step), rtol=1e-6,
                               atol=1e-7)
    with pytest.raises(ValueError, match="head_fusion"):
        rollout([attention], "median")


def test_rollout_costs_one_forward_without_a_target() -> None:
    torch.manual_seed(0)
    model = create_model("vit", MICRO).eval()
    forwards = []
    # one pass through the patch embedding = one forward (the seam's own forward does not call model.forward)
    vit_backbone(model).patch_embed.proj.register_forward_hook(lambda *_: forwards.append(1))
    create_explainer("rollout", model).attribute(torch.randn(2, 3, 8, 8))
    assert len(forwards) == 1


def test_rollout_of_identity_attention_is_the_identity() -> None:
    """Every block attends only to itself: A' = 0.5 (I + I) = I, and the product of identities is I."""
    eye = torch.eye(5).expand(2, 3, 5, 5)
    torch.testing.assert_close(rollout([eye, eye, eye]), torch.eye(5).expand(2, 5, 5))
    uniform = torch.full((1, 1, 4, 4), 0.25)  # one uniform block: 0.5 * (1/4 + I), rows sum to 1
    torch.testing.assert_close(rollout([uniform])[0], 0.125 + 0.5 * torch.eye(4))
