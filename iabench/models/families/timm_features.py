"""timm's ResNet, ConvNeXt and Swin classifiers: feature-map models, for the methods that need no attention.

Their seam has no tokens and no blocks: only the classifier (gradient and perturbation methods call it), the last
feature map (``feature_layer``, timm's ``feature_info[-1]``: Grad-CAM's layer; a Swin's is NHWC) and its output
stride, which is the grid of every patch-level map and patch-unit metric: images of S px give an S/stride grid.
The weights fix a Swin's image size only with its attention masks, and a CNN's not at all, so the size comes from
the data (``GivenModel.img_size``) and must be a multiple of the stride. ``load`` reads the stages' depths and widths
(and a Swin's patch, heads and window) off the weights, so a small model of your own loads as saved.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from timm.models import ConvNeXt, ResNet, SwinTransformer
from torch import nn

from ...config import ModelConfig
from ...errors import UserError
from ..seam import Seam, UnsupportedModel
from . import FAMILIES, Family, GivenModel, checkpoint_file, load_fitting, read_timm_state

SERVED = (ResNet, ConvNeXt, SwinTransformer)


def feature_arch(arch: str) -> bool:
    """Whether timm's ARCH is a ResNet, ConvNeXt or Swin (built on the meta device: no memory, no time)."""
    import timm

    try:
        with torch.device("meta"):
            return isinstance(timm.create_model(arch, pretrained=False), SERVED)
    except RuntimeError:  # an unknown name: the ViT family says so
        return False


class TimmFeatureSeam(Seam):
    family = "timm-features"
    library = "timm"
    kind = "feature-map"

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        return model if isinstance(model, SERVED) else None

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        last = model.feature_info[-1]
        self.feature_layer = model.get_submodule(last["module"])
        self.channels_last = isinstance(model, SwinTransformer)
        stride = int(last["reduction"])
        self.patch_size = (stride, stride)
        self.patch_proj = next(m for m in model.modules() if isinstance(m, nn.Conv2d))  # the stem's first conv
        size = model.patch_embed.img_size if self.channels_last else model.pretrained_cfg.get("input_size")[-2:]
        self.grid = (size[0] // stride, size[1] // stride)  # at the size it was built for; ``grid_for`` at others

    def grid_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The last feature map's grid for images of ``size``: size / output stride, refused when not whole."""
        stride = self.patch_size[0]
        if self.channels_last and tuple(size) != tuple(self.model.patch_embed.img_size):  # its attention masks
            built = self.model.patch_embed.img_size
            raise UnsupportedModel(f"images of {size[0]}x{size[1]} px: the Swin was built for {built[0]}x{built[1]}")
        if size[0] % stride or size[1] % stride:
            raise UnsupportedModel(f"images of {size[0]}x{size[1]} px: the {type(self.model).__name__}'s output "
                                   f"stride is {stride}, so its grid needs a size that is a multiple of {stride}")
        return (size[0] // stride, size[1] // stride)

    @property
    def num_heads(self) -> int:
        raise UnsupportedModel(f"a {type(self.model).__name__} has no attention heads iabench reads")

    @property
    def width(self) -> int:
        raise UnsupportedModel(f"a {type(self.model).__name__} has no token width")


def _count(state: dict[str, torch.Tensor], prefix: str) -> int:
    """How many numbered children ``prefix{i}.`` the weights have."""
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})


def shape_kwargs(model: nn.Module, state: dict[str, torch.Tensor], img_size: int) -> dict[str, object]:
    """timm's keyword arguments that rebuild ARCH in the shape of ``state``: the stages' depths and widths."""
    if isinstance(model, ResNet):
        return dict(layers=tuple(_count(state, f"layer{i}.") for i in range(1, 5)))
    if isinstance(model, ConvNeXt):
        stages = range(_count(state, "stages."))
        return dict(depths=tuple(_count(state, f"stages.{i}.blocks.") for i in stages),
                    dims=tuple(state[f"stages.{i}.blocks.0.conv_dw.weight"].shape[0] for i in stages))
    stages = range(_count(state, "layers."))
    tables = [state[f"layers.{i}.blocks.0.attn.relative_position_bias_table"] for i in stages]
    proj = state["patch_embed.proj.weight"]
    return dict(img_size=img_size, patch_size=proj.shape[-1], embed_dim=proj.shape[0],
                depths=tuple(_count(state, f"layers.{i}.blocks.") for i in stages),
                num_heads=tuple(t.shape[1] for t in tables), window_size=(math.isqrt(tables[0].shape[0]) + 1) // 2)


def load(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The state dict in ARCH of the shape its weights show, for images of ``given.img_size`` px."""
    import timm

    state, size = read_timm_state(given.path), given.img_size or 224
    with torch.device("meta"):
        meta = timm.create_model(given.arch, pretrained=False)
        kwargs = shape_kwargs(meta, state, size)
        meta = timm.create_model(given.arch, pretrained=False, **kwargs)
    names = {module: name for name, module in meta.named_modules()}
    head, stem = names[meta.get_classifier()], names[next(m for m in meta.modules() if isinstance(m, nn.Conv2d))]
    if f"{head}.weight" not in state or f"{stem}.weight" not in state:
        raise UserError(f"checkpoint '{given.path}' has no {head}.weight or {stem}.weight: not a timm {given.arch}")
    classes, channels = state[f"{head}.weight"].shape[0], state[f"{stem}.weight"].shape[1]
    model = timm.create_model(given.arch, pretrained=False, num_classes=classes, in_chans=channels, drop_rate=0.0,
                              **kwargs)
    model.pretrained_cfg = {**model.pretrained_cfg, "input_size": (channels, size, size)}  # the seam's grid
    model = load_fitting(model, state, given)
    stride = TimmFeatureSeam(model).patch_size[0]
    return model, ModelConfig(arch=given.arch, img_size=size, patch_size=stride, in_chans=channels,
                              num_classes=classes)


def normalisation(given: GivenModel) -> tuple[list[float], list[float]] | None:
    """timm's pretrained config of ARCH."""
    import timm

    pretrained = timm.models.get_pretrained_cfg(given.arch)
    return None if pretrained is None else (list(pretrained.mean), list(pretrained.std))


def parse_features(model: str, checkpoint: str | Path) -> GivenModel:
    """``ARCH --checkpoint FILE`` of a ResNet, ConvNeXt or Swin (the timm family's parse sends these here)."""
    if not feature_arch(model):
        raise UserError(f"--model '{model}' is not a timm ResNet, ConvNeXt or Swin")
    return GivenModel("timm-features", "feature-map", model, checkpoint_file(checkpoint, "timm"), model)


FAMILIES.register(Family(
    name="timm-features", rank=3, library="timm", prefix="", form="ARCH with --checkpoint FILE (a timm ResNet, "
    "ConvNeXt or Swin)", serves="timm ResNet, ConvNeXt and Swin classifiers (no attention methods)",
    refuses="other timm CNNs and hierarchical models, images whose size is not a multiple of the output stride",
    seam=TimmFeatureSeam, parse=parse_features, load=load, normalisation=normalisation))
