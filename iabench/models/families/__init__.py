"""Model families, one file each (timm's registry of named models, here of libraries): each declares a ``Family``
with its ``--model`` form and how the rest of it is parsed, how it loads a checkpoint or folder, its normalisation,
its seam (``Seam``) and which architectures it refuses. ``FAMILIES`` finds them; the supported list and the forms of
``--model`` are written from it, so adding a family is one file here and its test."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ...config import ModelConfig
from ...errors import UserError
from ...registry import Registry
from ..seam import Seam


@dataclass(frozen=True)
class GivenModel:
    """A model the user brings: its family, model kind, architecture, weights' path and name in the tables."""

    family: str
    kind: str  # "vit", "ia-vit" (an IA-ViT saved by iabench) or "feature-map" (a CNN or a Swin)
    arch: str
    path: Path
    name: str  # the model's name in the tables (and in the run's configuration)
    num_heads: int | None = None  # where the weights do not show them
    img_size: int | None = None  # the images' size, for a model whose weights do not fix it (a CNN)

    def with_heads(self, heads: int | None) -> GivenModel:
        """The model with its heads given (``--set model.num_heads``); one line where ``--model`` says others."""
        if heads is None or heads == self.num_heads:
            return self
        if self.kind == "feature-map":
            raise UserError(f"model.num_heads={heads}: {self.name} has no attention heads; leave it out")
        if self.num_heads is not None:
            raise UserError(f"--model says {self.num_heads} heads and model.num_heads {heads}: give them once")
        return dataclasses.replace(self, num_heads=heads)

    def key(self) -> str:
        """Names the weights (the explanation cache's key): the file's (folder's) name and a hash of its bytes."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.path.iterdir() if p.suffix in (".json", ".safetensors", ".bin")) \
            if self.path.is_dir() else [self.path]
        for path in files:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return f"{self.path.stem}-{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class Family:
    """What a family file declares. ``prefix`` starts its ``--model`` form ("" for the default family, which takes
    every form no other prefix claims); ``parse(model, checkpoint)`` reads the whole ``--model`` text; ``load`` gives
    the model in eval mode and its config; ``normalisation`` its image mean and std, when the weights' source says."""

    name: str
    rank: int  # the order in which families are listed and tried
    library: str  # the module whose import makes such a model possible: a model of an unloaded one cannot exist
    prefix: str
    form: str  # the --model form in words
    serves: str  # the model classes it serves, in words
    refuses: str  # what it refuses, in words (its seam refuses it with UnsupportedModel)
    seam: type[Seam]
    parse: Callable[[str, str | Path], GivenModel]
    load: Callable[[GivenModel], tuple[nn.Module, ModelConfig]]
    normalisation: Callable[[GivenModel], tuple[list[float], list[float]] | None]


FAMILIES: Registry[Family] = Registry("model family", package=__name__)


def families() -> list[Family]:
    """Every family, in its declared order."""
    return sorted((FAMILIES.get(name) for name in FAMILIES.names()), key=lambda f: f.rank)  # type: ignore[misc]


def supported() -> str:
    """The model classes iabench serves, in words (each family's ``serves``)."""
    return ", ".join(f.serves for f in families())


def forms() -> str:
    """The forms of ``--model``, in words (each family's ``form``)."""
    shown = [f.form for f in families()]
    return ", ".join(shown[:-1]) + f", or {shown[-1]}" if len(shown) > 1 else "".join(shown)


def parse_model(model: str, checkpoint: str | Path) -> GivenModel:
    """``--model`` (and ``--checkpoint``) read by the family its prefix names, else by the default family."""
    head = model.partition(":")[0]
    found = [f for f in families() if f.prefix and f.prefix == head]
    default = [f for f in families() if not f.prefix]
    return (found or default)[0].parse(model, checkpoint)


def family_of(given: GivenModel) -> Family:
    return FAMILIES.get(given.family)  # type: ignore[return-value]


def checkpoint_file(checkpoint: str | Path, what: str) -> Path:
    """``--checkpoint`` as an existing file, or one line saying what is missing."""
    if not checkpoint:
        raise UserError(f"--model needs --checkpoint FILE here (the weights of a {what} model); {forms()}")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise UserError(f"--checkpoint '{path}' does not exist; give the file of a {what} checkpoint")
    return path


def read_timm_state(path: Path) -> dict:
    """A timm state dict (also wrapped in ``state_dict``/``model``), read by timm's loader with ``weights_only``."""
    import timm

    logging.getLogger("timm").setLevel(logging.WARNING)  # its "Loaded ... from checkpoint" line repeats ours
    try:
        return timm.models.load_state_dict(str(path), weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickles refused by weights_only, truncated files, other formats
        raise UserError(f"cannot read '{path}' as weights ({str(err).splitlines()[0][:120]})") from None


def load_fitting(model: nn.Module, state: dict, given: GivenModel) -> nn.Module:
    """``model`` with ``state`` loaded, in eval mode; weights that do not fit are one line naming the missing and
    unexpected keys, or the first shape that differs."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes that differ (e.g. another width than ARCH's): torch's first reason
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise UserError(f"checkpoint '{given.path}' does not fit {given.arch}: {lines[-1][:160]}") from None
    if result.missing_keys or result.unexpected_keys:
        raise UserError(f"checkpoint '{given.path}' does not fit {given.arch}: missing keys "
                        f"{', '.join(result.missing_keys[:5]) or 'none'}; unexpected keys "
                        f"{', '.join(result.unexpected_keys[:5]) or 'none'}")
    return model.eval()


def model_name(prefix: str, stem: str) -> str:
    """The model's name in the tables: ``prefix-stem``, the prefix not doubled (a folder ``hf-vit`` is ``hf-vit``)."""
    return stem if stem.startswith(f"{prefix}-") else f"{prefix}-{stem}"


def config_from_seam(arch: str, seam: Seam) -> ModelConfig:
    """The config of a model of a family that records none, read through its seam."""
    return ModelConfig(arch=arch, img_size=seam.grid[0] * seam.patch_size[0], patch_size=seam.patch_size[0],
                       in_chans=seam.patch_proj.in_channels, num_classes=seam.readout[0][1].out_features,
                       embed_dim=seam.width, depth=len(seam.layers), num_heads=seam.num_heads)


FAMILIES.discover()

__all__ = ["FAMILIES", "Family", "GivenModel", "checkpoint_file", "config_from_seam", "families", "family_of", "forms",
           "load_fitting", "model_name", "parse_model", "read_timm_state", "supported"]
