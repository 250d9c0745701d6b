"""Stage 2 without training: a model the user brings, as a timm ViT/DeiT checkpoint or an iabench checkpoint.

``--model ARCH --checkpoint FILE`` (a timm state dict, also wrapped in ``state_dict``/``model``, read by timm's
``load_state_dict`` with ``weights_only=True``) or ``--model ia-vit:ARCH --checkpoint FILE`` (an IA-ViT saved by
iabench). The classes come from the checkpoint's head, the patch size, channels and image size from its patch
embedding and position embedding, the normalisation from timm's config of ARCH unless data.mean/std is set.
The suite then evaluates that one model: no training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from torch import nn

from ..baselines import EXPLAINERS
from ..config import ModelConfig, from_dict
from ..errors import UserError
from ..metrics import METRICS
from ..suites import Suite
from ..suites.variants import ModelVariant
from ..training import TrainedModel
from ..training.checkpoint import FORMAT, load_checkpoint
from .plan import applies

log = logging.getLogger("iabench")


@dataclasses.dataclass(frozen=True)
class GivenModel:
    """What ``--model`` / ``--checkpoint`` name: the model kind, the timm architecture and the file."""

    kind: str
    arch: str
    path: Path

    @classmethod
    def parse(cls, model: str, checkpoint: str | Path) -> GivenModel:
        kind, _, arch = model.rpartition(":") if ":" in model else ("vit", "", model)
        if kind not in ("vit", "ia-vit") or not arch:
            raise UserError(f"--model '{model}' is not ARCH or ia-vit:ARCH (e.g. deit_small_patch16_224)")
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise UserError(f"--checkpoint '{path}' does not exist; give the file of a timm or iabench checkpoint")
        return cls(kind, arch, path)

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.arch}" if self.kind == "ia-vit" else self.arch

    def key(self) -> str:
        """Names the weights (the explanation cache's key): the file's name and a hash of its bytes."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return f"{self.path.stem}-{digest.hexdigest()[:16]}"


def _is_iabench(path: Path) -> bool:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file, or not one weights_only accepts: timm's loader says why
        return False
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def config_from_state(arch: str, state: dict[str, torch.Tensor]) -> ModelConfig:
    """The ViT's shape read off its weights: classes (head), channels and patch (patch embedding), image size
    (position embedding; one class token), width, depth and heads left to timm's ARCH unless the weights differ."""
    needed = ("head.weight", "patch_embed.proj.weight", "pos_embed")
    missing = [k for k in needed if k not in state]
    if missing:
        raise UserError(f"the checkpoint has no {', '.join(missing)}: not a timm ViT/DeiT with a class-token head")
    width, in_chans, patch, _ = state["patch_embed.proj.weight"].shape
    positions = state["pos_embed"].shape[1]  # grid + class token, or the grid alone (DeiT III: no_embed_class)
    side = math.isqrt(positions) if math.isqrt(positions) ** 2 == positions else math.isqrt(positions - 1)
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    return ModelConfig(arch=arch, img_size=side * patch, patch_size=patch, in_chans=in_chans,
                       num_classes=state["head.weight"].shape[0], embed_dim=width, depth=depth)


def load_given(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The model in eval mode and its config; a checkpoint that does not fit is one UserError line."""
    from ..models import ViT

    if given.kind == "ia-vit" or _is_iabench(given.path):
        model, payload = load_checkpoint(given.path, kind=given.kind)
        config = from_dict(ModelConfig, payload["model_config"], "checkpoint.model")
        if config.arch != given.arch:
            raise UserError(f"checkpoint '{given.path}' holds a {config.arch}, not {given.arch}; pass --model "
                            f"{given.kind + ':' if given.kind == 'ia-vit' else ''}{config.arch}")
        return model.eval(), config
    logging.getLogger("timm").setLevel(logging.WARNING)  # its "Loaded ... from checkpoint" line repeats ours
    try:
        state = timm.models.load_state_dict(str(given.path), weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickles refused by weights_only, truncated files, other formats
        raise UserError(f"cannot read '{given.path}' as weights ({str(err).splitlines()[0][:120]})") from None
    config = config_from_state(given.arch, state)
    heads = dict(num_heads=None)  # timm's ARCH decides the heads; the weights do not show them
    model = ViT(dataclasses.replace(config, **heads))
    try:
        result = model.backbone.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes that differ (e.g. another width than ARCH's): torch's first reason
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise UserError(f"checkpoint '{given.path}' does not fit {given.arch}: {lines[-1][:160]}") from None
    if result.missing_keys or result.unexpected_keys:
        raise UserError(f"checkpoint '{given.path}' does not fit {given.arch}: missing keys "
                        f"{', '.join(result.missing_keys[:5]) or 'none'}; unexpected keys "
                        f"{', '.join(result.unexpected_keys[:5]) or 'none'}")
    return model.eval(), config


def fit_suite(suite: Suite, run: GivenRun) -> Suite:
    """The suite that evaluates the given model alone (first seed), on images of its size and, for a timm
    checkpoint, timm's normalisation of ARCH unless data.mean/std is set."""
    given, config, key = run.given, run.config, run.key
    data: dict[str, object] = dict(img_size=config.img_size, eval_only=True)  # nothing trained: a tree is all test
    pretrained = timm.models.get_pretrained_cfg(given.arch) if given.kind == "vit" else None
    if suite.data.mean is None and pretrained is not None and len(pretrained.mean) == config.in_chans:
        data.update(mean=list(pretrained.mean), std=list(pretrained.std))
    name = f"ia-vit-{given.arch}" if given.kind == "ia-vit" else given.arch
    # the weights' key in the description: two checkpoints never share a run directory
    variant = ModelVariant(name=name, kind=given.kind, model=config, train=suite.train, seeds=suite.seeds[:1],
                           description=f"checkpoint {given.path.name} ({key})")
    return dataclasses.replace(suite, data=dataclasses.replace(suite.data, **data), model=config,
                               seeds=suite.seeds[:1], models=[variant])


def check_fits(data: object, config: ModelConfig, given: GivenModel) -> None:
    """The dataset's channels and classes must be the checkpoint's."""
    if data.in_chans != config.in_chans:
        raise UserError(f"the checkpoint expects {config.in_chans}-channel images, dataset '{data.name}' has "
                        f"{data.in_chans}; pick a dataset of {config.in_chans} channels (--set data.name=...)")
    if data.num_classes != config.num_classes:
        raise UserError(f"the checkpoint's head has {config.num_classes} classes, dataset '{data.name}' has "
                        f"{data.num_classes}; evaluate it on the data it was trained for")


@dataclass(frozen=True)
class GivenRun:
    """A checkpoint a run evaluates: what was asked for, the loaded module, its model config, its weights' key."""

    given: GivenModel
    model: nn.Module
    config: ModelConfig
    key: str

    @classmethod
    def load(cls, model: str, checkpoint: str, device: torch.device) -> GivenRun:
        """--model ARCH --checkpoint FILE, loaded onto ``device``; one of the two alone is a one-line error."""
        if not (checkpoint and model):
            raise UserError("--model and --checkpoint go together: --model ARCH --checkpoint FILE")
        given = GivenModel.parse(model, checkpoint)
        module, config = load_given(given)
        return cls(given, module.to(device), config, given.key())


def given_models(suite: Suite, run: GivenRun) -> dict[tuple[int, str], TrainedModel]:
    """The one model of the suite, as the stages expect it; says what will be skipped, in one line."""
    given, model, key = run.given, run.model, run.key
    variant = suite.models[0]
    log.info("model %s: loaded from %s (no training)", variant.name, given.path)
    if given.kind != "ia-vit":
        skipped = [s.label for s in suite.explainers
                   if not applies(EXPLAINERS.get(s.name).resolved(s.options), given.kind)]
        skipped += [s.label for s in suite.metrics if not applies(METRICS.get(s.name), given.kind)]
        if skipped:
            log.info("skipped on %s (they need an IA-ViT): %s", variant.name, ", ".join(skipped))
    return {(variant.seeds[0], variant.name): TrainedModel(given.kind, model, given.path, metrics={}, cached=True,
                                                           weights_key=key)}
