"""Suites: YAML files shipped in this package (models x explainers x metrics x dataset x samples x seeds).

A suite is validated when it is loaded: an unknown key, explainer, metric, preset or model kind is one
``UserError`` line naming the closest valid choice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ..baselines import EXPLAINERS
from ..config import DataConfig, ModelConfig, Preset, TrainConfig, VerdictConfig, from_dict
from ..data.config_options import data_config
from ..errors import UserError, unknown
from ..metrics import METRICS
from ..models import get_preset
from ..targets import TARGETS
from ..training.warm import warm_source
from .methods import MethodSpec, check_options, check_scopes, method_specs
from .overrides import Overrides
from .variants import ModelVariant, build_variants, check_seeds


@dataclass(frozen=True)
class Included:
    """One suite an including suite runs: its name and the ``--set`` texts applied to it before the command
    line's (``{suite: evidence-motif, set: [data.placement=anywhere]}`` in YAML; a bare name sets nothing)."""

    name: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A resolved suite: everything a run needs, with the preset's configs and the suite's overrides."""

    name: str
    description: str = ""
    include: list[Included] = field(default_factory=list)  # run these suites instead (the `full` suite)
    contrast: bool = False  # an including suite: the model contrast of each pair of its runs that pair (evidence)
    preset: str = "vit-tiny-fmnist"
    models: list[ModelVariant] = field(default_factory=list)  # see iabench.suites.variants
    explainers: list[MethodSpec] = field(default_factory=list)
    metrics: list[MethodSpec] = field(default_factory=list)
    samples: int = 200
    seeds: list[int] = field(default_factory=lambda: [0])
    target: str = "label"  # label (the IA-ViT protocol) | predicted
    split: str = "test"
    batch_size: int = 50  # images explained and scored per chunk (also the resume granularity)
    heatmap_images: int = 6
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)  # how the report's verdict decides

    HASH_NEUTRAL: ClassVar[dict[str, Any]] = {"contrast": False}  # added later: the run ids before it stay valid


SUITE_KEYS = [f.name for f in dataclasses.fields(Suite)]


def suite_names() -> list[str]:
    folder = resources.files(__package__)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_suite_yaml(name_or_path: str) -> tuple[dict[str, Any], str]:
    """The raw mapping of a shipped suite (by name) or of a YAML file (by path)."""
    path = Path(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")) and path.is_file():
        text, where = path.read_text(), str(path)
    else:
        if name_or_path not in suite_names():
            raise unknown("suite", name_or_path, suite_names())
        text = resources.files(__package__).joinpath(f"{name_or_path}.yaml").read_text()
        where = f"suite '{name_or_path}'"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{where} is not valid YAML{at}: {getattr(err, 'problem', err)}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{where} must be a YAML mapping of keys (name, models, explainers, metrics, ...)")
    raw.setdefault("name", path.stem if path.suffix in (".yaml", ".yml") else name_or_path)
    return raw, where


def apply_overrides(raw: dict[str, Any], overrides: list[str] | Overrides) -> dict[str, Any]:
    """Apply ``--set a.b=value`` overrides to the raw suite mapping (before validation)."""
    return Overrides.parse(overrides).apply(raw, SUITE_KEYS)


def build_suite(raw: dict[str, Any], where: str, late: dict[str, Any] | None = None) -> Suite:
    """Validate a raw suite mapping into a ``Suite`` (preset configs + the suite's sections + its model
    variants); ``late`` = the command line's overrides that apply after each variant's own."""
    for key in raw:
        if key not in SUITE_KEYS:
            raise unknown(f"key in {where}", str(key), SUITE_KEYS)
    preset: Preset = get_preset(str(raw.get("preset", "vit-tiny-fmnist")))
    data = data_config(raw.get("data"), preset.data)
    model = from_dict(ModelConfig, raw.get("model"), "model", preset.model)
    train = from_dict(TrainConfig, raw.get("train"), "train", preset.train)
    if "img_size" in (raw.get("data") or {}) and "img_size" not in (raw.get("model") or {}):
        model = dataclasses.replace(model, img_size=data.img_size)  # one image size for data and model
    seeds = check_seeds(raw.get("seeds", [0]), "'seeds'")
    models = build_variants(raw.get("models", ["vit", "ia-vit"]), model, train, seeds, late or {})
    suite = Suite(
        name=str(raw["name"]), description=str(raw.get("description", "")),
        include=[_included(entry, where) for entry in raw.get("include", [])], contrast=_flag(raw, "contrast"),
        preset=preset.name, models=models,
        explainers=method_specs(raw.get("explainers", []), "explainer", EXPLAINERS.names()),
        metrics=method_specs(raw.get("metrics", []), "metric", METRICS.names()),
        seeds=sorted({seed for variant in models for seed in variant.seeds}), **_scalars(raw),
        data=data, model=model, train=train, verdict=from_dict(VerdictConfig, raw.get("verdict"), "verdict"),
    )
    check_scopes(suite.metrics, suite.explainers, models)
    check_options(suite.explainers, suite.metrics)
    for variant in models:
        config = variant.model
        if config.patch_size < 1 or config.img_size % config.patch_size:
            raise UserError(f"image size {config.img_size} of model '{variant.name}' is not divisible by patch "
                            f"size {config.patch_size}; set model.img_size (and data.img_size) to a multiple "
                            "of model.patch_size")
        if variant.train.warm_start:  # a bad override fails here, before any training
            warm_source(variant.kind, suite.data, variant.train)
    if not suite.include and not (suite.explainers or suite.metrics):
        raise UserError(f"{where} names no explainers and no metrics")
    if suite.contrast and not suite.include:
        raise UserError(f"{where}: contrast: true pairs the runs of included suites; add include: [...] or drop it")
    return suite


def included_suites(suite: Suite, overrides: list[str] | Overrides | None = None) -> list[Suite]:
    """The suites an including suite runs, each with its entry's ``set`` first and the command line's after."""
    later = Overrides.parse(overrides)
    return [load_suite(entry.name, Overrides.parse(entry.overrides).then(later)) for entry in suite.include]


def _included(entry: Any, where: str) -> Included:
    """An ``include`` entry: a suite name (or a suite file's path), or {suite: NAME, set: [KEY=VALUE, ...] or
    {KEY: VALUE}}."""
    if isinstance(entry, dict):
        extra = set(entry) - {"suite", "set"}
        if "suite" not in entry or extra:
            raise UserError(f"{where}: an include entry is a suite name or {{suite: NAME, set: [KEY=VALUE, ...]}}, "
                            f"got {entry!r}")
        sets = entry.get("set") or []
        if isinstance(sets, dict):
            sets = [f"{k}={v}" for k, v in sets.items()]
        name, overrides = str(entry["suite"]), tuple(str(s) for s in sets)
    else:
        name, overrides = str(entry), ()
    if name not in suite_names() and not (name.endswith((".yaml", ".yml")) and Path(name).is_file()):
        raise unknown(f"suite included by {where}", name, suite_names())
    return Included(name, overrides)


def _flag(raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise UserError(f"'{key}' must be true or false, got {value!r}")
    return value


def _scalars(raw: dict[str, Any]) -> dict[str, Any]:
    """A suite's samples, batch_size, heatmap_images, target and split, checked."""
    out: dict[str, Any] = {}
    for key in ("samples", "batch_size", "heatmap_images"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise UserError(f"'{key}' must be an integer, got {value!r}")
            out[key] = value
    if out.get("samples", 1) < 1:
        raise UserError(f"samples must be at least 1 (got {out['samples']}); e.g. --samples 200")
    if out.get("batch_size", 1) < 1:
        raise UserError(f"batch_size must be at least 1 (got {out['batch_size']})")
    out["target"], out["split"] = str(raw.get("target", "label")), str(raw.get("split", "test"))
    if out["target"] not in TARGETS:
        raise UserError(f"target must be 'label' or 'predicted', got '{out['target']}'")
    if out["split"] not in ("test", "val"):
        raise UserError(f"split must be 'test' or 'val', got '{out['split']}'")
    return out


def load_suite(name_or_path: str, overrides: list[str] | Overrides | None = None) -> Suite:
    """A shipped suite (by name) or a suite file (by path), with the command line's overrides (parsed once)."""
    raw, where = read_suite_yaml(name_or_path)
    parsed = Overrides.parse(overrides)
    if raw.get("include"):  # the overrides are for the suites it includes (``included_suites`` applies them there)
        return build_suite(raw, where)
    return build_suite(parsed.apply(raw, SUITE_KEYS), where, parsed.late())
