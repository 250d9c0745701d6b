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

from ..baselines import EXPLAINERS, not_on_feature_maps
from ..config import ModelConfig, config_hash, from_dict
from ..data import DataBundle, dataset_class, dataset_options
from ..errors import UserError
from ..metrics import METRICS
from ..models import seam_of
from ..models.families import GivenModel, family_of, parse_model
from ..suites import Suite
from ..suites.overrides import Overrides
from ..suites.variants import ModelVariant
from ..training import TrainedModel
from ..training.checkpoint import FORMAT, load_checkpoint
from .plan import RunOptions, applies, hashable_data

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
        heads = seam_of(model).num_heads  # the config may leave them to ARCH's default
        if given.num_heads is not None and given.num_heads != heads:
            raise UserError(f"checkpoint '{given.path}' holds {heads} heads, model.num_heads says "
                            f"{given.num_heads}: leave model.num_heads out")
        return model.eval(), config
    return family_of(given).load(given)


def fit_suite(suite: Suite, run: GivenRun) -> Suite:
    """The suite that evaluates the given model alone (first seed), on images of its size and with its
    normalisation (timm's config of ARCH, or an HF folder's preprocessor_config.json) unless data.mean/std is set."""
    given, config, key = run.given, run.config, run.key
    data: dict[str, object] = dict(img_size=config.img_size, eval_only=True)  # nothing trained: a tree is all test
    if suite.data.img_size != config.img_size:
        log.info("images resized to %d px, the size %s takes (the suite's data.img_size is %d)", config.img_size,
                 given.name, suite.data.img_size)
    channels = data_channels(suite)
    if channels != config.in_chans and not (channels, config.in_chans) == (1, 3):
        raise UserError(f"{given.name} takes {config.in_chans}-channel images, dataset '{suite.data.name}' has "
                        f"{channels}; pick a {config.in_chans}-channel dataset (--set data.name=...)")
    if channels != config.in_chans:
        seam_of(run.model).check_grey()  # before any data is read
    if given.kind == "feature-map":
        check_feature_grid(suite, run)
    normalisation = family_of(given).normalisation(given)
    if suite.data.mean is None and normalisation is not None and len(normalisation[0]) == channels:
        data.update(mean=normalisation[0], std=normalisation[1])  # grey images keep their own (check_fits folds)
    # the weights' key in the description: two checkpoints never share a run directory; the family is named
    described = f"checkpoint {given.path.name} ({key})"
    if given.family != "timm":
        described = f"{seam_of(run.model).described}, {described}"
    variant = ModelVariant(name=given.name, kind=given.kind, model=config, train=suite.train, seeds=suite.seeds[:1],
                           description=described)
    return dataclasses.replace(suite, data=dataclasses.replace(suite.data, **data), model=config,
                               seeds=suite.seeds[:1], models=[variant])


def check_feature_grid(suite: Suite, run: GivenRun) -> None:
    """A feature-map model's grid (its last feature map) must be at least 2x2, and no explainer the suite names may
    need a ViT's tokens: each refused in one line saying what applies."""
    stride, size, name = run.config.patch_size, run.config.img_size, run.given.name
    try:
        rows, cols = seam_of(run.model).grid_for((size, size))
    except UserError as err:
        raise UserError(f"{err}: give --set data.img_size=N with N a multiple of {stride}") from None
    if rows < 2 or cols < 2:
        raise UserError(f"at {size} px the last feature map of {name} is {rows}x{cols} (output stride {stride}); its "
                        f"patch-level maps and patch-unit metrics need 2x2 or more: --set data.img_size={2 * stride}")
    vit_only = [s.label for s in suite.explainers
                if not applies(EXPLAINERS.get(s.name).resolved(s.options), run.given.kind)]
    if vit_only and run.named_explainers:
        raise not_on_feature_maps(vit_only, name, EXPLAINERS)


def data_channels(suite: Suite) -> int:
    """The channels of the suite's images, from its dataset's declaration (nothing is read)."""
    return dataset_class(suite.data.name).channels(dataset_options(suite.data))


def check_fits(data: DataBundle, run: GivenRun) -> None:
    """The dataset's classes must be the checkpoint's; a 3-channel model on grey images reads them as the grey
    channel repeated, then normalised as the model's own (its family's normalisation; without one the images' own
    on each channel), folded into its patch embedding (``Seam.take_grey``), said once."""
    config, given = run.config, run.given
    if data.num_classes != config.num_classes:
        raise UserError(f"the checkpoint's head has {config.num_classes} classes, dataset '{data.name}' has "
                        f"{data.num_classes}; evaluate it on the data it was trained for")
    if data.in_chans == config.in_chans:
        return
    own = family_of(given).normalisation(given)
    if own is None or len(own[0]) != 3:
        own = ([data.mean[0]] * 3, [data.std[0]] * 3)
    seam_of(run.model).take_grey((data.mean[0], data.std[0]), own)
    log.info("model %s takes 3-channel images, dataset '%s' has 1: its grey channel is repeated, then normalised "
             "with mean %s and std %s (folded into the patch embedding)", given.name, data.name,
             _rounded(own[0]), _rounded(own[1]))


def _rounded(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


@dataclass(frozen=True)
class GivenRun:
    """A checkpoint a run evaluates: what was asked for, the loaded module, its model config, its weights' key."""

    given: GivenModel
    model: nn.Module
    config: ModelConfig
    key: str
    named_explainers: bool = False  # the explainers were named on the command line (--set explainers=...)

    @classmethod
    def load(cls, options: RunOptions, device: torch.device, size: int = 224) -> GivenRun:
        """--model (with --checkpoint unless hf:DIR) and its heads when given, loaded onto ``device``; a missing half,
        or a data.img_size that is not the model's, is a one-line error. A feature-map model (a CNN, a Swin) takes
        images of the suite's ``size`` (data.img_size)."""
        if not options.model:
            raise UserError("--checkpoint needs --model: --model ARCH --checkpoint FILE (or --model hf:DIR alone)")
        given = parse_model(options.model, options.checkpoint).with_heads(options.num_heads)
        if given.kind == "feature-map":
            given = dataclasses.replace(given, img_size=options.img_size or size)
        module, config = load_given(given)
        if options.img_size is not None and options.img_size != config.img_size:
            raise UserError(f"data.img_size={options.img_size}, but {given.name} takes {config.img_size} px images "
                            "(its position table): leave data.img_size out, the images are resized to its size")
        return cls(given, module.to(device), config, given.key(), options.named_explainers)


def given_options(options: RunOptions, overrides: Overrides) -> RunOptions:
    """What ``--set`` says of a given model: its heads (model.num_heads, where the weights do not show them) and
    data.img_size (checked against its own); any other model.KEY is refused, the weights say it."""
    others = [text for text in overrides.texts_under("model") if text.split("=")[0].strip() != "model.num_heads"]
    if others:
        raise UserError(f"--set {others[0]}: a given model's shape comes from its weights; of the model section only "
                        "model.num_heads may be given (the heads, where the weights do not show them)")
    heads = overrides.value("model.num_heads")
    if heads is not None and (type(heads) is not int or heads < 1):
        raise UserError(f"model.num_heads={heads}: give the model's number of attention heads, a whole number >= 1")
    return dataclasses.replace(options, num_heads=heads, img_size=overrides.value("data.img_size"),
                               named_explainers=overrides.value("explainers") is not None)


def given_models(suite: Suite, run: GivenRun) -> dict[tuple[int, str], TrainedModel]:
    """The one model of the suite, as the stages expect it; says what will be skipped, in one line."""
    given, model, key = run.given, run.model, run.key
    variant = suite.models[0]
    log.info("model %s: loaded from %s (no training)", variant.name, given.path)
    if given.kind != "ia-vit":
        skipped = [s.label for s in suite.explainers
                   if not applies(EXPLAINERS.get(s.name).resolved(s.options), given.kind)]
        skipped += [s.label for s in suite.metrics if not applies(METRICS.get(s.name), given.kind)]
        need = "a ViT's attention or an IA-ViT" if given.kind == "feature-map" else "an IA-ViT"
        if skipped:
            log.info("skipped on %s (they need %s): %s", variant.name, need, ", ".join(skipped))
    # the data in the key too: one checkpoint's maps on two datasets (or two normalisations, or two image folders)
    # share sample indices
    root = str(Path(suite.data.root).expanduser().resolve()) if suite.data.root else ""
    weights = f"{key}-{config_hash(hashable_data(suite.data), root, length=8)}"
    return {(variant.seeds[0], variant.name): TrainedModel(given.kind, model, given.path, metrics={}, cached=True,
                                                           weights_key=weights, family=given.family)}
