"""Stage 2 without training: a model the user brings, of any family the seam serves (``iabench.models.families``
parses ``--model``, loads the weights and says its normalisation), or an IA-ViT saved by iabench
(``training.checkpoint``). The classes, patch size, channels and image size come from the weights; the normalisation
from the family (timm's config of ARCH, a folder's preprocessor_config.json) unless data.mean/std is set. The suite
then evaluates that one model: no training.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..baselines import EXPLAINERS
from ..config import ModelConfig, from_dict
from ..errors import UserError
from ..metrics import METRICS
from ..models import seam_of
from ..models.families import GivenModel, family_of, parse_model
from ..suites import Suite
from ..suites.variants import ModelVariant
from ..training import TrainedModel
from ..training.checkpoint import FORMAT, load_checkpoint
from .plan import applies

log = logging.getLogger("iabench")


def _is_iabench(path: Path) -> bool:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file, or not one weights_only accepts: timm's loader says why
        return False
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def load_given(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The model in eval mode and its config; a checkpoint that does not fit is one UserError line."""
    if given.kind == "ia-vit" or (given.family == "timm" and _is_iabench(given.path)):
        model, payload = load_checkpoint(given.path, kind=given.kind)
        config = from_dict(ModelConfig, payload["model_config"], "checkpoint.model")
        if config.arch != given.arch:
            raise UserError(f"checkpoint '{given.path}' holds a {config.arch}, not {given.arch}; pass --model "
                            f"{given.kind + ':' if given.kind == 'ia-vit' else ''}{config.arch}")
        return model.eval(), config
    return family_of(given).load(given)


def fit_suite(suite: Suite, run: GivenRun) -> Suite:
    """The suite that evaluates the given model alone (first seed), on images of its size and with its
    normalisation (timm's config of ARCH, or an HF folder's preprocessor_config.json) unless data.mean/std is set."""
    given, config, key = run.given, run.config, run.key
    data: dict[str, object] = dict(img_size=config.img_size, eval_only=True)  # nothing trained: a tree is all test
    normalisation = family_of(given).normalisation(given)
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
        given = parse_model(model, checkpoint)
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
