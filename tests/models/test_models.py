"""Model shapes and outputs for both presets' shapes, attention capture, pretrained loading."""

from __future__ import annotations

import dataclasses

import pytest
import timm
import torch

from iabench.config import ModelConfig
from iabench.errors import UserError
from iabench.models import IAViT, ViT, capture_attention, create_model, get_preset


def test_tiny_ia_vit_outputs(tiny_ia_vit: IAViT) -> None:
    x = torch.randn(3, 1, 28, 28)
    out = tiny_ia_vit.forward_all(x)
    assert out.logits.shape == (3, 10) and out.inter_logits.shape == (3, 10)
    assert len(out.encoder_attn) == 4
    assert all(a.shape == (3, 4, 50, 50) for a in out.encoder_attn)
    assert out.inter_attn.shape == (3, 49, 49)
    torch.testing.assert_close(out.inter_attn.sum(-1), torch.ones(3, 49))  # rows are distributions
    torch.testing.assert_close(out.encoder_attn[0].sum(-1), torch.ones(3, 4, 50))
    # forward() is the predictor alone, identical to forward_all's logits (fused vs unfused path)
    torch.testing.assert_close(tiny_ia_vit(x), out.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tiny_ia_vit.explain(x), out.inter_attn.mean(1))


def test_vit_b16_shapes_without_weights() -> None:
    # The paper's backbone shape, with 2 blocks instead of 12 to keep the test fast.
    config = dataclasses.replace(get_preset("vit-b16").model, pretrained="", depth=2)
    model = create_model("ia-vit", config).eval()
    assert model.grid == (14, 14) and model.backbone.embed_dim == 768
    with torch.no_grad():
        out = model.forward_all(torch.randn(1, 3, 224, 224))
    assert out.logits.shape == (1, 10) and out.inter_attn.shape == (1, 196, 196)
    assert out.encoder_attn[0].shape == (1, 12, 197, 197)


def test_capture_only_inside_context(tiny_ia_vit: IAViT) -> None:
    attn_modules = [b.attn for b in tiny_ia_vit.backbone.blocks]
    fused_before = [m.fused_attn for m in attn_modules]
    hooks_before = [len(m.attn_drop._forward_hooks) for m in attn_modules]
    with capture_attention(tiny_ia_vit) as captured:
        assert not any(m.fused_attn for m in attn_modules)
        tiny_ia_vit(torch.randn(2, 1, 28, 28))
        assert len(captured) == 4
        tiny_ia_vit(torch.randn(2, 1, 28, 28))
        assert len(captured) == 4  # cleared per forward, not accumulated
    assert [m.fused_attn for m in attn_modules] == fused_before
    assert [len(m.attn_drop._forward_hooks) for m in attn_modules] == hooks_before


def test_captured_attention_carries_gradients(tiny_ia_vit: IAViT) -> None:
    x = torch.randn(2, 1, 28, 28)
    with capture_attention(tiny_ia_vit) as captured:
        logits = tiny_ia_vit(x)
    grads = torch.autograd.grad(logits[:, 0].sum(), captured)
    assert all(g.shape == a.shape and g.abs().sum() > 0 for g, a in zip(grads, captured))


def test_interpreter_scale_option(tiny_config: ModelConfig) -> None:
    assert create_model("ia-vit", tiny_config).interpreter.scale == 1.0  # the official code: no scaling
    scaled = create_model("ia-vit", dataclasses.replace(tiny_config, interpreter_scale=True))
    assert scaled.interpreter.scale == pytest.approx(1 / 8)


def test_interpreter_init_follows_official_code(tiny_ia_vit: IAViT) -> None:
    assert tiny_ia_vit.interpreter.fc1.bias.abs().max() < 1e-4
    assert tiny_ia_vit.interpreter.fc2.weight.shape == (10, 49)


def test_bad_configs_are_user_errors(tiny_config: ModelConfig) -> None:
    with pytest.raises(UserError, match="not divisible by patch size"):
        create_model("vit", dataclasses.replace(tiny_config, img_size=30))
    with pytest.raises(UserError, match="timm has no model"):
        create_model("vit", dataclasses.replace(tiny_config, arch="vit_does_not_exist"))
    with pytest.raises(UserError, match="did you mean 'ia-vit'"):
        create_model("ia_vit", tiny_config)
    with pytest.raises(UserError, match="does not exist"):
        create_model("vit", dataclasses.replace(tiny_config, pretrained="/nonexistent/weights.pth"))


def test_pretrained_from_local_checkpoint(tmp_path, tiny_config: ModelConfig) -> None:
    # timm's real pretrained path, pointed at a file this test saves: a 3-channel 32px source model
    # loads into a 1-channel 28px model with another head (timm adapts in_chans, resamples pos_embed
    # and drops the mismatched classifier).
    source = timm.create_model("vit_tiny_patch16_224", img_size=32, patch_size=4, in_chans=3, num_classes=7,
                               embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    model = create_model("vit", dataclasses.replace(tiny_config, pretrained=str(path)))
    torch.testing.assert_close(model.backbone.blocks[2].mlp.fc1.weight, source.blocks[2].mlp.fc1.weight)
    assert model.backbone.pos_embed.shape == (1, 50, 64)
    assert model.backbone.head.weight.shape == (10, 64)
    random_init = create_model("vit", tiny_config)
    assert not torch.allclose(random_init.backbone.blocks[2].mlp.fc1.weight, source.blocks[2].mlp.fc1.weight)


def test_any_timm_vit_name_works() -> None:
    config = ModelConfig(arch="deit_tiny_patch16_224", img_size=32, patch_size=8, in_chans=3, num_classes=5, depth=1)
    model = create_model("ia-vit", config).eval()
    out = model.forward_all(torch.randn(2, 3, 32, 32))
    assert out.inter_attn.shape == (2, 16, 16) and isinstance(model, ViT)
