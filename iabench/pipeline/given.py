"""Stage 2 without training: a model the user brings, of any family the seam serves (``given_spec.py`` parses it).

A timm state dict (also wrapped in ``state_dict``/``model``, read by timm's ``load_state_dict`` with
``weights_only=True``), an IA-ViT saved by iabench, a Hugging Face ``save_pretrained`` folder (offline, eager
attention) or a torchvision state dict. The classes, patch size, channels and image size come from the weights;
the normalisation from timm's config of ARCH or the folder's preprocessor_config.json unless data.mean/std is set.
The suite then evaluates that one model: no training.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from torch import nn

from ..baselines import EXPLAINERS
from ..config import ModelConfig, from_dict
from ..errors import UserError
from ..metrics import METRICS
from ..models import as_classifier, seam_of
from ..models.families import hf_vit, torchvision_vit
from ..models.families.timm_vit import check_arch, shape_from_state
from ..suites import Suite
from ..suites.variants import ModelVariant
from ..training import TrainedModel
from ..training.checkpoint import FORMAT, load_checkpoint
from .given_spec import GivenModel
from .plan import applies

log = logging.getLogger("iabench")


def _is_iabench(path: Path) -> bool:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file, or not one weights_only accepts: timm's loader says why
        return False
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def config_from_state(arch: str, state: dict[str, torch.Tensor]) -> ModelConfig:
    """A timm ViT's config, its shape read off its weights (heads left to ARCH: the weights do not show them)."""
    shape = shape_from_state(state)
    if shape is None:
        raise UserError("the checkpoint has no timm head, patch embedding or position table: not a timm ViT/DeiT "
                        "with a class-token head (for a torchvision or Hugging Face model see --model's help)")
    return ModelConfig(arch=arch, **shape)


def config_of(given: GivenModel, model: nn.Module) -> ModelConfig:
    """The config of a model of another family, read through the seam."""
    seam = seam_of(model)
    return ModelConfig(arch=given.arch, img_size=seam.grid[0] * seam.patch_size[0], patch_size=seam.patch_size[0],
                       in_chans=seam.patch_proj.in_channels, num_classes=seam.readout[0][1].out_features,
                       embed_dim=seam.width, depth=len(seam.layers), num_heads=seam.num_heads)


def load_given(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The model in eval mode and its config; a checkpoint that does not fit is one UserError line."""
    from ..models import ViT

    if given.family != "timm":
        module = as_classifier(hf_vit.load(given.path) if given.family == "hf"
                               else torchvision_vit.load(given.path, given.num_heads))
        return module.eval(), config_of(given, module)

    if given.kind == "ia-vit" or _is_iabench(given.path):
        model, payload = load_checkpoint(given.path, kind=given.kind)
        config = from_dict(ModelConfig, payload["model_config"], "checkpoint.model")
        if config.arch != given.arch:
            raise UserError(f"checkpoint '{given.path}' holds a {config.arch}, not {given.arch}; pass --model "
                            f"{given.kind + ':' if given.kind == 'ia-vit' else ''}{config.arch}")
        return model.eval(), config
    check_arch(given.arch)  # a CNN or a Swin is refused before its weights are read
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
    """The suite that evaluates the given model alone (first seed), on images of its size and with its
    normalisation (timm's config of ARCH, or an HF folder's preprocessor_config.json) unless data.mean/std is set."""
    given, config, key = run.given, run.config, run.key
    data: dict[str, object] = dict(img_size=config.img_size, eval_only=True)  # nothing trained: a tree is all test
    normalisation = _normalisation(given)
    if suite.data.mean is None and normalisation is not None and len(normalisation[0]) == config.in_chans:
        data.update(mean=normalisation[0], std=normalisation[1])
    # the weights' key in the description: two checkpoints never share a run directory; the family is named
    described = f"checkpoint {given.path.name} ({key})"
    if given.family != "timm":
        described = f"{seam_of(run.model).described}, {described}"
    variant = ModelVariant(name=given.name, kind=given.kind, model=config, train=suite.train, seeds=suite.seeds[:1],
                           description=described)
    return dataclasses.replace(suite, data=dataclasses.replace(suite.data, **data), model=config,
                               seeds=suite.seeds[:1], models=[variant])


def _normalisation(given: GivenModel) -> tuple[list[float], list[float]] | None:
    if given.family == "hf":
        return hf_vit.normalisation(given.path)
    pretrained = timm.models.get_pretrained_cfg(given.arch) if given.family == "timm" and given.kind == "vit" else None
    return None if pretrained is None else (list(pretrained.mean), list(pretrained.std))


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
        """--model (with --checkpoint unless hf:DIR), loaded onto ``device``; a missing half is a one-line error."""
        if not model:
            raise UserError("--checkpoint needs --model: --model ARCH --checkpoint FILE (or --model hf:DIR alone)")
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
