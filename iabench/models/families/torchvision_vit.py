"""The torchvision family: ``torchvision.models.VisionTransformer`` (vit_b_16 ... vit_h_14, or one built small).

Its blocks call ``nn.MultiheadAttention`` with ``need_weights=False``, so the probabilities exist only in the
seam's own forward, which recomputes them from the block's packed ``in_proj`` weights (q, k, v stacked, as
timm's ``qkv``) through a fresh identity module. A head with a ``pre_logits`` layer is refused.

``load`` builds the model from a checkpoint's weights alone: patch size and width from ``conv_proj``, depth from
the layer count, MLP width from the first MLP layer, image size from the position table, classes from the head.
The weights do not show the number of heads: ``num_heads`` says it; without it, torchvision's own for the widths
of its builders (768: 12, 1024: 16, 1280: 16), and any other width is refused in one line asking for it.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VisionTransformer

from ...config import ModelConfig
from ...errors import UserError
from ..seam import BlockParts, Seam, UnsupportedModel
from . import FAMILIES, Family, GivenModel, checkpoint_file, config_from_seam, model_name


def _packed_linear(attention: nn.MultiheadAttention) -> nn.Linear:
    """The packed q/k/v projection as an ``nn.Linear`` sharing the attention's own parameters."""
    if attention.in_proj_weight is None or not attention.batch_first:
        raise UnsupportedModel("the torchvision attention has separate q/k/v widths or is not batch-first")
    linear = nn.Linear(attention.embed_dim, 3 * attention.embed_dim, bias=attention.in_proj_bias is not None,
                       device="meta")
    linear.weight = attention.in_proj_weight
    if attention.in_proj_bias is not None:
        linear.bias = attention.in_proj_bias
    return linear


def _self_attention(attention: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """The block's own attention on its normalised tokens (a function of the module, so it deep-copies and pickles)."""
    return attention(x, x, x, need_weights=False)[0]


def _block(block: nn.Module) -> BlockParts:
    attention, mlp = block.self_attention, block.mlp
    return BlockParts(pre_attention=block.ln_1, to_qkv=(_packed_linear(attention),), to_out=attention.out_proj,
                      pre_mlp=block.ln_2, fc1=mlp[0], act=mlp[1], fc2=mlp[3], num_heads=attention.num_heads,
                      probabilities=nn.Identity(), own_attention=partial(_self_attention, attention))


class TorchvisionSeam(Seam):
    family = "torchvision"
    library = "torchvision"

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        return model if isinstance(model, VisionTransformer) else None

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        if len(model.heads) != 1:
            raise UnsupportedModel("the torchvision VisionTransformer has a pre_logits layer before its head")
        side = model.image_size // model.patch_size
        self.grid, self.patch_size = (side, side), (model.patch_size, model.patch_size)
        self.patch_proj = model.conv_proj
        self.layers = tuple(_block(block) for block in model.encoder.layers)
        self.final_norm = model.encoder.ln
        self.readout = ((0, model.heads.head),)

    def place_tokens(self, patches: torch.Tensor) -> torch.Tensor:
        token = self.model.class_token.expand(patches.shape[0], -1, -1)
        return torch.cat([token, patches], dim=1) + self.model.encoder.pos_embedding


# torchvision's builders: (width, heads); the weights show the width, not the heads
BUILDERS = {"vit_b_16": (768, 12), "vit_b_32": (768, 12), "vit_l_16": (1024, 16), "vit_l_32": (1024, 16),
            "vit_h_14": (1280, 16)}
HEADS_BY_WIDTH = {width: heads for width, heads in BUILDERS.values()}


def grid_side(positions: int, prefix: int) -> int:
    """The side of a square grid from a position table of ``positions`` rows, which may include ``prefix``."""
    for count in (positions - prefix, positions):
        if count > 0 and math.isqrt(count) ** 2 == count:
            return math.isqrt(count)
    raise UserError(f"{positions} position embeddings do not make a square patch grid")


def parse(model: str, checkpoint: str | Path) -> GivenModel:
    """``torchvision[:HEADS] --checkpoint FILE``; HEADS a number or a builder's name (its heads)."""
    path, spec, heads = checkpoint_file(checkpoint, "torchvision"), model.partition(":")[2], None
    if spec in BUILDERS:
        heads = BUILDERS[spec][1]
    elif spec.isdigit() and int(spec) > 0:
        heads = int(spec)
    elif spec:
        raise UserError(f"--model '{model}': after torchvision: give the number of heads or one of "
                        f"{', '.join(BUILDERS)}")
    return GivenModel("torchvision", "vit", "torchvision", path, model_name("torchvision", path.stem), heads)


def load(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The checkpoint's model (it returns logits) and its config."""
    model = load_file(given.path, given.num_heads)
    return model, config_from_seam(given.arch, TorchvisionSeam(model))


def load_file(checkpoint: str | Path, num_heads: int | None = None) -> nn.Module:
    """A torchvision ``VisionTransformer`` of the shape the checkpoint's weights show, with them loaded, eval mode."""
    path = Path(checkpoint).expanduser()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickles refused by weights_only, truncated files, other formats
        raise UserError(f"cannot read '{path}' as weights ({str(err).splitlines()[0][:120]})") from None
    for wrapper in ("state_dict", "model"):
        state = state.get(wrapper, state) if isinstance(state, dict) else state
    first_mlp = "encoder.layers.encoder_layer_0.mlp.0.weight"
    needed = ("conv_proj.weight", "encoder.pos_embedding", "heads.head.weight", first_mlp)
    missing = [k for k in needed if not isinstance(state, dict) or k not in state]
    if missing:
        raise UserError(f"'{path}' has no {', '.join(missing)}: not the state dict of a torchvision VisionTransformer")
    width, _, patch, _ = state["conv_proj.weight"].shape
    side = grid_side(state["encoder.pos_embedding"].shape[1], 1)
    heads = num_heads or HEADS_BY_WIDTH.get(width)
    if heads is None:
        raise UserError(f"the weights do not show the number of heads of a width-{width} model: give it, "
                        "--model torchvision:HEADS or --set model.num_heads=N")
    if width % heads:
        raise UserError(f"width {width} is not divisible by {heads} heads: give the model's heads, "
                        "--model torchvision:HEADS")
    model = VisionTransformer(
        image_size=side * patch, patch_size=patch, hidden_dim=width, num_heads=heads,
        num_layers=len({k.split(".")[2] for k in state if k.startswith("encoder.layers.")}),
        mlp_dim=state[first_mlp].shape[0],
        num_classes=state["heads.head.weight"].shape[0])
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise UserError(f"'{path}' does not fit a torchvision VisionTransformer: {lines[-1][:160]}") from None
    return model.eval()


FAMILIES.register(Family(
    name="torchvision", rank=2, library="torchvision", prefix="torchvision",
    form="torchvision[:HEADS] with --checkpoint FILE", serves="torchvision VisionTransformer",
    refuses="a head with a pre_logits layer, separate q/k/v widths", seam=TorchvisionSeam, parse=parse, load=load,
    normalisation=lambda given: None))
