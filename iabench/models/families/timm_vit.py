"""The timm family: ``VisionTransformer`` (ViT, DeiT, distilled DeiT, register tokens) and iabench's own ViT and
IA-ViT, which wrap one as ``.backbone``.

The seam reads the standard pre-norm ``Block`` (``Attention``, ``Mlp``, LayerScale, q/k norms); the attention
probabilities pass through each block's ``attn_drop``, so a hook there sees them in the seam's forward as in
timm's unfused one. A distilled DeiT has two prefix tokens: the CLS-row methods read the class token's row, the
read-out averages its two heads as timm does. Training IA-ViT captures attention in its forward: ``_timm_capture``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from timm.layers import Mlp
from timm.models.vision_transformer import Attention, Block, VisionTransformer
from torch import nn

from ...config import ModelConfig
from ...errors import UserError
from ..seam import BlockParts, Seam, UnsupportedModel
from . import FAMILIES, Family, GivenModel, checkpoint_file, forms, load_fitting, read_timm_state, supported

log = logging.getLogger("iabench")


def vit_backbone(model: nn.Module) -> VisionTransformer:
    """The timm ``VisionTransformer`` inside ``model`` (ours wrap it as ``.backbone``)."""
    if isinstance(model, VisionTransformer):
        return model
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, VisionTransformer):
        return backbone
    raise UnsupportedModel(f"expected a timm VisionTransformer or a model with .backbone, got {type(model).__name__}")


def _refuse_unless(condition: bool, vit: VisionTransformer, what: str) -> None:
    if not condition:
        raise UnsupportedModel(f"the timm {type(vit).__name__} has {what}; the seam serves ViTs with a class-token "
                               "head and standard pre-norm blocks")


def _block(block: nn.Module, vit: VisionTransformer) -> BlockParts:
    _refuse_unless(type(block) is Block and type(block.attn) is Attention and type(block.mlp) is Mlp, vit,
                   f"{type(block).__name__} blocks")
    attn, mlp = block.attn, block.mlp
    _refuse_unless(attn.num_heads * attn.head_dim * 3 == attn.qkv.out_features, vit, "an unusual head width")
    return BlockParts(pre_attention=block.norm1, to_qkv=(attn.qkv,), to_out=attn.proj, pre_mlp=block.norm2,
                      fc1=mlp.fc1, act=mlp.act, fc2=mlp.fc2, num_heads=attn.num_heads, probabilities=attn.attn_drop,
                      q_norm=attn.q_norm, k_norm=attn.k_norm, context_norm=attn.norm, hidden_norm=mlp.norm,
                      ls1=block.ls1, ls2=block.ls2, own_attention=attn)


class TimmSeam(Seam):
    family = "timm"
    library = "timm"

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        try:
            vit_backbone(model)
        except UnsupportedModel:
            return None
        return model

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        vit = self.vit = vit_backbone(model)
        pooled = getattr(vit, "attn_pool", None) is not None or not isinstance(vit.fc_norm, nn.Identity)
        _refuse_unless(vit.cls_token is not None and vit.global_pool == "token" and not pooled
                       and isinstance(vit.head, nn.Linear), vit,
                       "no single linear head on the class token")
        _refuse_unless(not vit.dynamic_img_size and isinstance(vit.patch_embed.norm, nn.Identity)
                       and vit.patch_embed.flatten, vit, "a dynamic size or a normalised patch embedding")
        self.grid = tuple(vit.patch_embed.grid_size)
        self.patch_size = tuple(vit.patch_embed.patch_size)
        self.num_prefix_tokens = vit.num_prefix_tokens
        self.patch_proj = vit.patch_embed.proj
        self.pre_norm = None if isinstance(vit.norm_pre, nn.Identity) else vit.norm_pre
        self.layers = tuple(_block(block, vit) for block in vit.blocks)
        self.final_norm = vit.norm
        head_dist = getattr(vit, "head_dist", None)
        self.readout = ((0, vit.head),) if head_dist is None else ((0, vit.head), (1, head_dist))

    def place_tokens(self, patches: torch.Tensor) -> torch.Tensor:
        return self.vit._pos_embed(patches)  # timm's own: class, distillation and register tokens, positions


def create_timm_vit(arch: str, pretrained: bool = False, **kwargs: object) -> VisionTransformer:
    """``timm.create_model``, refusing in one line an unknown name or a model the seam cannot serve (a CNN, a
    Swin, a ViT without a class-token head)."""
    import timm

    try:
        model = timm.create_model(arch, pretrained=pretrained, **kwargs)
    except RuntimeError as err:
        if "Unknown model" in str(err):
            raise UserError(f"timm has no model '{arch}'; see timm.list_models('vit_*')") from None
        raise
    if not isinstance(model, VisionTransformer):
        raise UnsupportedModel(f"'{arch}' is a {type(model).__name__}, not a ViT: iabench serves {supported()}")
    TimmSeam(model)
    return model


def check_arch(arch: str) -> VisionTransformer:
    """ARCH built on the meta device (no memory, no time), refused in one line when the seam cannot serve it."""
    with torch.device("meta"):
        return create_timm_vit(arch)


def heads_for(given: GivenModel, arch: VisionTransformer, width: int) -> int:
    """The checkpoint's heads: as given (``--set model.num_heads``), else ARCH's when the checkpoint's width is
    ARCH's; any other checkpoint is refused, since its heads cannot be read off the weights (a wrong count loads
    without complaint and gives wrong logits and attention)."""
    arch_width, arch_heads = arch.embed_dim, arch.blocks[0].attn.num_heads
    if given.num_heads is not None:
        if width % given.num_heads:
            raise UserError(f"model.num_heads={given.num_heads} does not divide the checkpoint's width {width}; "
                            f"give the heads it was trained with (--set model.num_heads=N)")
        return given.num_heads
    if width != arch_width:
        raise UserError(f"the checkpoint's width is {width}, {given.arch}'s is {arch_width}, so its heads are not "
                        f"{given.arch}'s {arch_heads}: give them with --set model.num_heads=N (in Python "
                        "iabench.load_model(..., num_heads=N))")
    log.info("model %s: %d heads, %s's (the checkpoint's width %d is its own; --set model.num_heads=N to say "
             "otherwise)", given.name, arch_heads, given.arch, width)
    return arch_heads


def shape_from_state(state: dict[str, torch.Tensor]) -> dict[str, int] | None:
    """A timm ViT's shape read off its weights: classes (head), channels and patch (patch embedding), image size
    (position table, with or without the class token), width, depth and MLP ratio; None when the keys are not
    timm's."""
    if not all(k in state for k in ("head.weight", "patch_embed.proj.weight", "pos_embed")):
        return None
    width, in_chans, patch, _ = state["patch_embed.proj.weight"].shape
    positions = state["pos_embed"].shape[1]  # grid + class token, or the grid alone (DeiT III: no_embed_class)
    side = math.isqrt(positions) if math.isqrt(positions) ** 2 == positions else math.isqrt(positions - 1)
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    shape = dict(img_size=side * patch, patch_size=patch, in_chans=in_chans, num_classes=state["head.weight"].shape[0],
                 embed_dim=width, depth=depth)
    if "blocks.0.mlp.fc1.weight" in state:  # the MLP's width, which ARCH's default may not be
        shape["mlp_ratio"] = state["blocks.0.mlp.fc1.weight"].shape[0] / width
    return shape


def parse(model: str, checkpoint: str | Path) -> GivenModel:
    """``ARCH`` or ``ia-vit:ARCH`` (an IA-ViT saved by iabench), with ``--checkpoint FILE``; a timm ResNet, ConvNeXt
    or Swin ARCH goes to the feature-map family (``timm_features``)."""
    from .timm_features import feature_arch, parse_features

    kind, _, arch = model.rpartition(":") if ":" in model else ("vit", "", model)
    if kind not in ("vit", "ia-vit") or not arch:
        raise UserError(f"--model '{model}' is not one of: {forms()}")
    if kind == "vit" and feature_arch(arch):
        return parse_features(arch, checkpoint)
    return GivenModel("timm", kind, arch, checkpoint_file(checkpoint, "timm or iabench"),
                      f"ia-vit-{arch}" if kind == "ia-vit" else arch)


def load(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The state dict (``read_state``) in ARCH of the shape its weights show and the heads ``heads_for`` says."""
    arch = check_arch(given.arch)  # another timm model (not a ViT, ResNet, ConvNeXt or Swin) is refused first
    state = read_timm_state(given.path)
    shape = shape_from_state(state)
    if shape is None:
        raise UserError("the checkpoint has no timm head, patch embedding or position table: not a timm ViT/DeiT "
                        "with a class-token head (for a torchvision or Hugging Face model see --model's help)")
    shape["num_heads"] = heads_for(given, arch, shape["embed_dim"])
    model = create_timm_vit(given.arch, drop_rate=0.0, drop_path_rate=0.0, **shape)
    return load_fitting(model, state, given), ModelConfig(arch=given.arch, **shape)


def normalisation(given: GivenModel) -> tuple[list[float], list[float]] | None:
    """timm's pretrained config of ARCH (an IA-ViT of iabench's has none)."""
    import timm

    pretrained = timm.models.get_pretrained_cfg(given.arch) if given.kind == "vit" else None
    return None if pretrained is None else (list(pretrained.mean), list(pretrained.std))


FAMILIES.register(Family(
    name="timm", rank=0, library="timm", prefix="", form="ARCH or ia-vit:ARCH with --checkpoint FILE (timm)",
    serves="timm VisionTransformer (ViT, DeiT, distilled DeiT)", refuses="other timm ViTs (BEiT, EVA, ...), "
    "pooled heads, dynamic sizes, normalised patch embeddings", seam=TimmSeam, parse=parse, load=load,
    normalisation=normalisation))
