"""Explainers: the registry contract, hand-computed references and LRP conservation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from iabench.baselines import EXPLAINERS, create_explainer, upsample_patch_map
from iabench.baselines.lrp import RULES, conservative_forward, missing_rules
from iabench.config import ModelConfig
from iabench.models import SeamForward, capture_attention, create_model, get_preset, vit_backbone

REQUIRED = {
    "ia-vit", "attention", "rollout", "generic-attention", "transformer-attribution", "gradcam", "lrp",
    "lrp-captum-naive", "integrated-gradients", "saliency", "input-x-gradient", "occlusion", "random", "centre",
    "attnlrp", "transformer-attribution-cp", "rise", "smoothgrad", "integrated-gradients[blur]",
    "integrated-gradients[uniform]", "integrated-gradients[mean]", "random-patch", "shuffled", "edge",
}
FAMILIES = {"attention", "gradient", "relevance", "perturbation", "intrinsic", "control"}
# few IG steps, masks and noisy samples keep the suite quick
FAST = {**{name: {"n_steps": 4} for name in ("integrated-gradients", "integrated-gradients[blur]",
                                             "integrated-gradients[uniform]", "integrated-gradients[mean]")},
        "rise": {"n_masks": 16}, "smoothgrad": {"nt_samples": 4}, "shuffled": {"of": "rollout"}}
TINY = get_preset("vit-tiny-fmnist").model
# Dropout and drop-path on: an explainer that forgot eval mode would not be deterministic.
DROPPY = dataclasses.replace(TINY, drop_rate=0.3, drop_path_rate=0.3)
B16 = ModelConfig(arch="vit_base_patch16_224", img_size=224, patch_size=16, in_chans=3, num_classes=10, depth=2)


def _model(kind: str, config: ModelConfig = TINY, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(kind, config).eval()


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    return {"vit": _model("vit"), "ia-vit": _model("ia-vit")}


def _images(n: int, config: ModelConfig = TINY, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, config.in_chans, config.img_size, config.img_size, generator=generator)


def _snapshot(model: nn.Module) -> dict[str, object]:
    """Everything an explainer must leave as it found it."""
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "fused": [getattr(m, "fused_attn", None) for m in model.modules()],
        "training": [m.training for m in model.modules()],
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                     for m in model.modules()),
        "attrs": [sorted(vars(m)) for m in model.modules()],
    }


def _assert_unchanged(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("requires_grad", "fused", "training", "hooks", "attrs"):
        assert before[key] == after[key], key
    for name, value in before["state"].items():  # type: ignore[union-attr]
        assert torch.equal(value, after["state"][name]), name  # type: ignore[index]


def _names_for(kind: str) -> list[str]:
    return [n for n in EXPLAINERS.names() if kind == "ia-vit" or not EXPLAINERS.get(n).needs.ia_vit]


def _masks(images: torch.Tensor) -> torch.Tensor:
    """Ground-truth masks for the explainers that read them (the evidence oracle); the others ignore them."""
    return torch.rand(images.shape[0], *images.shape[-2:], generator=torch.Generator().manual_seed(5)) > 0.7


def test_registry_has_every_method_with_metadata() -> None:
    assert REQUIRED <= set(EXPLAINERS.names())
    for name in EXPLAINERS.names():
        cls = EXPLAINERS.get(name)
        assert cls.name == name and cls.display_name and cls.reference
        assert cls.family in FAMILIES, (name, cls.family)
        assert cls.__module__ != "iabench.baselines", f"{name} should live in its own module"
        assert (cls.__doc__ or "") + (__import__(cls.__module__, fromlist=["x"]).__doc__ or ""), name
    assert EXPLAINERS.get("lrp-captum-naive").family == "control"
    assert "naive" in EXPLAINERS.get("lrp-captum-naive").display_name.lower()
    assert EXPLAINERS.get("ia-vit").needs.ia_vit


@pytest.mark.parametrize("kind", ["vit", "ia-vit"])
def test_contract_shape_dtype_determinism_batch_invariance(kind: str) -> None:
    model = _model(kind, DROPPY).train()  # explainers must explain in eval mode and restore the mode
    vit_backbone(model).patch_embed.eval()  # mixed modes must come back as they were, module by module
    images, target = _images(3), torch.tensor([1, 4, 7])
    for name in _names_for(kind):
        before = _snapshot(model)
        explainer = create_explainer(name, model, **FAST.get(name, {}))
        masks = _masks(images)
        saliency = explainer.attribute(images, target, masks)
        assert saliency.shape == (3, 28, 28) and saliency.dtype == torch.float32, name
        assert saliency.device == images.device and torch.isfinite(saliency).all(), name
        flat = saliency.flatten(1)
        assert (flat.amax(1) > flat.amin(1)).all(), f"{name}: constant map"
        assert torch.equal(explainer.attribute(images, target, masks), saliency), f"{name}: not deterministic"
        alone = torch.cat([explainer.attribute(images[i:i + 1], target[i:i + 1], masks[i:i + 1]) for i in range(3)])
        scale = saliency.abs().amax().item()
        torch.testing.assert_close(alone, saliency, rtol=1e-5, atol=1e-5 * scale, msg=f"{name}: batch")
        _assert_unchanged(before, _snapshot(model))
        assert model.training and not vit_backbone(model).patch_embed.training, name


def test_frozen_model_and_no_grad_context(models: dict[str, nn.Module]) -> None:
    """Gradient methods work on a model whose parameters are frozen, and inside torch.no_grad."""
    model = _model("ia-vit")
    model.requires_grad_(False)
    images = _images(2)
    with torch.no_grad():
        for name in _names_for("ia-vit"):
            saliency = create_explainer(name, model, **FAST.get(name, {})).attribute(images, None, _masks(images))
            flat = saliency.flatten(1)
            assert torch.isfinite(saliency).all() and (flat.amax(1) > flat.amin(1)).all(), name
    assert not any(p.requires_grad for p in model.parameters())


def test_targets_default_to_prediction_and_true_label_is_an_option(models: dict[str, nn.Module]) -> None:
    model, images = models["vit"], _images(2)
    explainer = create_explainer("saliency", model)
    predicted = model(images).argmax(1)
    assert torch.equal(explainer.attribute(images), explainer.attribute(images, predicted))
    assert not torch.allclose(explainer.attribute(images, (predicted + 1) % 10), explainer.attribute(images))


def test_ia_vit_explainer_needs_ia_vit(models: dict[str, nn.Module]) -> None:
    with pytest.raises(TypeError, match="IA-ViT"):
        create_explainer("ia-vit", models["vit"]).attribute(_images(1))


def test_ia_vit_equals_the_interpreter_attention(models: dict[str, nn.Module]) -> None:
    model, images = models["ia-vit"], _images(3)
    with torch.no_grad():
        inter = model.forward_all(images).inter_attn  # (B, P, P)
    expected = upsample_patch_map(inter.mean(dim=1).reshape(3, 7, 7), (28, 28))
    torch.testing.assert_close(create_explainer("ia-vit", model).attribute(images), expected, rtol=0, atol=1e-7)








def test_gradcam_matches_a_hand_computation(models: dict[str, nn.Module]) -> None:
    """Grad-CAM by hand: hook the last block's norm1 tokens, take the target logit's gradient, weight the
    channels by the spatial mean gradient, ReLU, reshape to the 7x7 grid and upsample."""
    model, images, target = models["vit"], _images(2), torch.tensor([3, 5])
    saved: dict[str, torch.Tensor] = {}

    def keep(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        output.retain_grad()
        saved["tokens"] = output

    handle = vit_backbone(model).blocks[-1].norm1.register_forward_hook(keep)
    try:
        model(images).gather(1, target[:, None]).sum().backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    tokens, grads = saved["tokens"][:, 1:].detach(), saved["tokens"].grad[:, 1:]
    weights = grads.mean(dim=1, keepdim=True)  # (B, 1, D): the spatial mean of the gradients
    cam = (tokens * weights).sum(-1).clamp(min=0).reshape(2, 7, 7)
    expected = upsample_patch_map(cam, (28, 28))
    got = create_explainer("gradcam", model).attribute(images, target)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6 * expected.abs().max().item())
    assert expected.abs().max() > 0


def _accumulate_by_hand(per_block: list[torch.Tensor]) -> torch.Tensor:
    relevance = torch.eye(per_block[0].shape[-1], dtype=torch.float64)
    for step in per_block:
        relevance = relevance + step @ relevance
    return relevance


def test_generic_attention_matches_a_hand_computation(models: dict[str, nn.Module]) -> None:
    """Chefer ICCV'21 Eq. 5-6 from attentions and gradients taken here with autograd."""
    model, images = models["vit"], _images(1)
    with capture_attention(model) as captured:
        logit = model(images)[0, 2]
        grads = torch.autograd.grad(logit, list(captured))
    weighted = [(g * a).clamp(min=0).mean(dim=1)[0].double() for a, g in zip(captured, grads)]
    expected = upsample_patch_map(_accumulate_by_hand(weighted)[0, 1:].float().reshape(1, 7, 7), (28, 28))
    got = create_explainer("generic-attention", model).attribute(images, [2])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6 * expected.abs().max().item())


# ---- LRP -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,config", [("vit", TINY), ("ia-vit", TINY), ("ia-vit", B16)])
def test_lrp_has_a_rule_for_every_module(kind: str, config: ModelConfig) -> None:
    model = _model(kind, config)
    for module in SeamForward(model).modules():  # every module the seam's forward calls
        assert type(module) in RULES, f"no CP-LRP rule for {type(module).__name__}"
    assert missing_rules(model) == []
    assert missing_rules(conservative_forward(model)) == []  # the replacement modules are covered too


def test_lrp_refuses_an_unknown_module_type() -> None:
    model = _model("vit")
    vit_backbone(model).blocks[0].mlp.act = nn.Tanh()
    assert missing_rules(model) == ["Tanh"]
    with pytest.raises(TypeError, match="Tanh"):
        create_explainer("lrp", model).attribute(_images(1), [0])


def _homogeneous(model: nn.Module, uniform_attention: bool) -> nn.Module:
    """Zero every bias, the CLS token and the position embedding; optionally zero the query and key weights,
    which freezes every attention matrix to uniform (q.k^T = 0)."""
    backbone = vit_backbone(model)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.zero_()
        backbone.cls_token.zero_()
        backbone.pos_embed.zero_()
        if uniform_attention:
            for block in backbone.blocks:
                dim = block.attn.qkv.in_features
                block.attn.qkv.weight[: 2 * dim] = 0  # rows of q and k
    return model


@pytest.mark.parametrize("uniform_attention", [False, True])
def test_lrp_conserves_the_target_logit(uniform_attention: bool) -> None:
    """Expected conservation: with no biases, CLS token or position embedding the CP-LRP network (attention,
    LayerNorm std and gelu(x)/x held constant) is linear in the input, so the relevance sums exactly to the
    target logit: tolerance 1e-4 relative (float32; measured ~1e-6). With uniform attention too."""
    model = _homogeneous(_model("vit", seed=5), uniform_attention)
    images, target = _images(3), torch.tensor([0, 3, 9])
    if uniform_attention:
        with torch.no_grad(), capture_attention(model) as captured:
            model(images)
        torch.testing.assert_close(captured[0], torch.full_like(captured[0], 1 / 50))
    with torch.no_grad():
        logits = model(images).gather(1, target[:, None])[:, 0]
    relevance = create_explainer("lrp", model).attribute(images, target).sum(dim=(1, 2))
    assert logits.abs().min() > 1e-3
    torch.testing.assert_close(relevance, logits, rtol=1e-4, atol=1e-4 * logits.abs().max().item())


def test_lrp_is_finite_not_constant_and_differs_from_naive(models: dict[str, nn.Module]) -> None:
    model, images = models["vit"], _images(2)
    relevance = create_explainer("lrp", model).attribute(images, [1, 2])
    naive = create_explainer("lrp-captum-naive", model).attribute(images, [1, 2])
    assert torch.isfinite(relevance).all() and relevance.flatten(1).std(1).min() > 0
    assert torch.isfinite(naive).all()
    # CP-LRP is LRP-0 through the conservative copy: its relevance of the logit is of the logit's order,
    # while the naive Captum rules lose it by orders of magnitude (the control's point).
    logits = model(images).gather(1, torch.tensor([[1], [2]]))[:, 0].abs()
    assert (relevance.sum((1, 2)).abs() > 1e-2 * logits).all()
    assert not torch.allclose(naive, relevance, rtol=0.1, atol=0)


@pytest.mark.parametrize("kind", ["vit", "ia-vit"])
def test_vit_b16_shape(kind: str) -> None:
    """Every explainer on the ViT-B/16 shape (224px, 16px patches, width 768; 2 blocks to stay fast)."""
    model, images = _model(kind, B16), _images(1, B16)
    # The many-forward methods run on the IA-ViT only (their code path does not depend on the kind), and occlusion
    # (196 forwards here, ~25 s on one CPU thread) not at all: its window sizes are tested on the 2x3 grid below.
    heavy = {"rise", "smoothgrad", "integrated-gradients[blur]", "integrated-gradients[uniform]",
             "integrated-gradients[mean]"}
    for name in [n for n in _names_for(kind) if n != "occlusion" and (kind == "ia-vit" or n not in heavy)]:
        saliency = create_explainer(name, model, **FAST.get(name, {})).attribute(images, None, _masks(images))
        assert saliency.shape == (1, 224, 224) and saliency.dtype == torch.float32, name
        assert torch.isfinite(saliency).all(), name


def test_raw_timm_vit_with_a_non_square_grid() -> None:
    """Any timm ViT, not only ours: a bare VisionTransformer, 3 channels, 16x24 px with 8px patches (2x3)."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", img_size=(16, 24), patch_size=8, embed_dim=32, depth=2,
                              num_heads=2, num_classes=5).eval()
    images = torch.randn(2, 3, 16, 24)
    assert missing_rules(model) == []
    for name in _names_for("vit"):
        saliency = create_explainer(name, model, **FAST.get(name, {})).attribute(images, None, _masks(images))
        assert saliency.shape == (2, 16, 24) and torch.isfinite(saliency).all(), name
