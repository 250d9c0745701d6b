"""Tiny ViTs of the three families with the same weights: a timm model, converted by explicit state-dict key maps
(written here from each library's own layout, independently of iabench's seam) into Hugging Face transformers
(both its 4.x and 5.x layouts) and torchvision models."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn
from torchvision.models import VisionTransformer

transformers = pytest.importorskip("transformers")  # the `hf` extra; scripts/install.sh installs it

# width 48, 3 heads: `--model vit_tiny_patch16_224 --checkpoint FILE --set model.num_heads=3` rebuilds it
SHAPE = dict(img_size=16, patch_size=4, embed_dim=48, depth=2, num_heads=3, mlp_ratio=2.0, num_classes=5)


def timm_vit(seed: int = 0, distilled: bool = False, num_classes: int = 5) -> nn.Module:
    """A random 3-channel timm ViT (4x4 grid) whose biases and norms are not at their initial values, so that a
    swapped bias or norm changes the logits."""
    torch.manual_seed(seed)
    arch = "deit_tiny_distilled_patch16_224" if distilled else "vit_tiny_patch16_224"
    model = timm.create_model(arch, pretrained=False, **{**SHAPE, "num_classes": num_classes}).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * (0.3 if p.ndim <= 1 else 0.05))  # larger weights: sharper attention
    return model


def _blocks(vit: nn.Module) -> list[tuple[str, dict[str, torch.Tensor]]]:
    state = vit.state_dict()
    blocks = []
    for i in range(len(vit.blocks)):
        p = f"blocks.{i}."
        qkv_w, qkv_b = state[p + "attn.qkv.weight"].chunk(3), state[p + "attn.qkv.bias"].chunk(3)
        blocks.append((str(i), {
            "ln1.w": state[p + "norm1.weight"], "ln1.b": state[p + "norm1.bias"],
            "q.w": qkv_w[0], "k.w": qkv_w[1], "v.w": qkv_w[2], "q.b": qkv_b[0], "k.b": qkv_b[1], "v.b": qkv_b[2],
            "qkv.w": state[p + "attn.qkv.weight"], "qkv.b": state[p + "attn.qkv.bias"],
            "o.w": state[p + "attn.proj.weight"], "o.b": state[p + "attn.proj.bias"],
            "ln2.w": state[p + "norm2.weight"], "ln2.b": state[p + "norm2.bias"],
            "fc1.w": state[p + "mlp.fc1.weight"], "fc1.b": state[p + "mlp.fc1.bias"],
            "fc2.w": state[p + "mlp.fc2.weight"], "fc2.b": state[p + "mlp.fc2.bias"]}))
    return blocks


def hf_from_timm(vit: nn.Module) -> nn.Module:
    """The timm model as ViTForImageClassification (DeiTForImageClassificationWithTeacher when distilled)."""
    distilled = getattr(vit, "dist_token", None) is not None
    kind = "deit" if distilled else "vit"
    config_class = transformers.DeiTConfig if distilled else transformers.ViTConfig
    config = config_class(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
                          image_size=16, patch_size=4, num_channels=3, layer_norm_eps=1e-6, hidden_act="gelu",
                          qkv_bias=True, num_labels=vit.num_classes)
    model_class = transformers.DeiTForImageClassificationWithTeacher if distilled \
        else transformers.ViTForImageClassification
    model = model_class(config).eval()
    new_layout = f"{kind}.layers.0.attention.q_proj.weight" in model.state_dict()  # transformers 5.x
    state, source = {}, vit.state_dict()
    e = f"{kind}.embeddings."
    state[e + "cls_token"] = source["cls_token"]
    if distilled:
        state[e + "distillation_token"] = source["dist_token"]
    state[e + "position_embeddings"] = source["pos_embed"]
    state[e + "patch_embeddings.projection.weight"] = source["patch_embed.proj.weight"]
    state[e + "patch_embeddings.projection.bias"] = source["patch_embed.proj.bias"]
    names = ({"q": "attention.q_proj", "k": "attention.k_proj", "v": "attention.v_proj", "o": "attention.o_proj",
              "fc1": "mlp.fc1", "fc2": "mlp.fc2"} if new_layout else
             {"q": "attention.attention.query", "k": "attention.attention.key", "v": "attention.attention.value",
              "o": "attention.output.dense", "fc1": "intermediate.dense", "fc2": "output.dense"})
    names.update(ln1="layernorm_before", ln2="layernorm_after")
    for i, block in _blocks(vit):
        prefix = f"{kind}.layers.{i}." if new_layout else f"{kind}.encoder.layer.{i}."
        for short, module in names.items():
            state[f"{prefix}{module}.weight"] = block[f"{short}.w"]
            state[f"{prefix}{module}.bias"] = block[f"{short}.b"]
    state[f"{kind}.layernorm.weight"], state[f"{kind}.layernorm.bias"] = source["norm.weight"], source["norm.bias"]
    heads = {"cls_classifier": "head", "distillation_classifier": "head_dist"} if distilled else {"classifier": "head"}
    for hf_name, timm_name in heads.items():
        state[f"{hf_name}.weight"] = source[f"{timm_name}.weight"]
        state[f"{hf_name}.bias"] = source[f"{timm_name}.bias"]
    model.load_state_dict(state, strict=True)
    return model


def torchvision_state(vit: nn.Module) -> dict[str, torch.Tensor]:
    """The timm model's weights under torchvision VisionTransformer's keys."""
    source = vit.state_dict()
    state = {"class_token": source["cls_token"], "encoder.pos_embedding": source["pos_embed"],
             "conv_proj.weight": source["patch_embed.proj.weight"], "conv_proj.bias": source["patch_embed.proj.bias"],
             "encoder.ln.weight": source["norm.weight"], "encoder.ln.bias": source["norm.bias"],
             "heads.head.weight": source["head.weight"], "heads.head.bias": source["head.bias"]}
    names = {"ln1": "ln_1", "qkv": "self_attention.in_proj", "o": "self_attention.out_proj", "ln2": "ln_2",
             "fc1": "mlp.0", "fc2": "mlp.3"}
    for i, block in _blocks(vit):
        prefix = f"encoder.layers.encoder_layer_{i}."
        for short, module in names.items():
            if short == "qkv":
                state[prefix + module + "_weight"], state[prefix + module + "_bias"] = block["qkv.w"], block["qkv.b"]
            else:
                state[f"{prefix}{module}.weight"] = block[f"{short}.w"]
                state[f"{prefix}{module}.bias"] = block[f"{short}.b"]
    return state


def torchvision_from_timm(vit: nn.Module) -> nn.Module:
    model = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=3, hidden_dim=48, mlp_dim=96,
                              num_classes=vit.num_classes).eval()
    model.load_state_dict(torchvision_state(vit), strict=True)
    return model
