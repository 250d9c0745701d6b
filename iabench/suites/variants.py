"""Model variants of a suite: named models, each a kind (vit | ia-vit) with its own overrides.

A suite's ``models`` is either a list of kinds (``[vit, ia-vit]``: one variant per kind, named after it)
or a mapping ``{name: {kind, model, train, seeds, baseline, description, explainers}}``; ``explainers`` (labels
of the suite's explainers) limits which explain this variant, e.g. only the interpreter for an ablation.
A variant's configs are, in order of precedence (last wins): the preset, the suite's ``model``/``train``
sections, the variant's own ``model``/``train`` overrides, and the command line's ``--set model.X=…`` /
``--set train.X=…`` (and ``--seed`` / ``--set seeds=…``, which replace every variant's seeds).
``baseline`` names the variant this one is compared with in the verdict: a plain ViT for the IA-ViT it
matches, or the IA-ViT an ablation departs from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..config import ModelConfig, TrainConfig, from_dict
from ..errors import UserError, closest, unknown
from ..models import MODEL_KINDS
from ..store import MODEL_LEVEL

VARIANT_KEYS = ["kind", "model", "train", "seeds", "baseline", "description", "explainers"]


@dataclass(frozen=True)
class ModelVariant:
    """One model of a suite: what is trained (kind + configs), on which seeds, compared with what."""

    name: str
    kind: str
    model: ModelConfig
    train: TrainConfig
    seeds: list[int]
    baseline: str = ""
    description: str = ""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # as written in the suite
    explainers: list[str] | None = None  # the suite's explainer labels that explain this model (None: all)

    def explains(self, label: str) -> bool:
        return self.explainers is None or label in self.explainers

    @property
    def grid(self) -> str:
        side = self.model.img_size // self.model.patch_size
        return f"{side}x{side}"


def check_seeds(seeds: Any, where: str) -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise UserError(f"{where} must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"{where} lists a seed twice: {seeds}")
    return list(seeds)


def _variant(name: str, spec: Any, model: ModelConfig, train: TrainConfig, seeds: list[int],
             late: dict[str, dict[str, Any]]) -> ModelVariant:
    where = f"models.{name}"
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise UserError(f"{where} must be a mapping with keys {', '.join(VARIANT_KEYS)}, got {spec!r}")
    for key in spec:
        if key not in VARIANT_KEYS:
            raise UserError(f"unknown key '{where}.{key}'{closest(str(key), VARIANT_KEYS)}; valid keys: "
                            f"{', '.join(VARIANT_KEYS)}")
    kind = str(spec.get("kind", name))
    if kind not in MODEL_KINDS:
        raise unknown(f"model kind of {where}", kind, MODEL_KINDS)
    own = {section: dict(spec.get(section) or {}) for section in ("model", "train")}
    model_cfg = from_dict(ModelConfig, own["model"], f"{where}.model", model)
    train_cfg = from_dict(TrainConfig, own["train"], f"{where}.train", train)
    # the command line applies after the variant's own overrides
    model_cfg = from_dict(ModelConfig, late.get("model"), "model", model_cfg)
    train_cfg = from_dict(TrainConfig, late.get("train"), "train", train_cfg)
    variant_seeds = seeds if "seeds" in late else check_seeds(spec.get("seeds", seeds), f"{where}.seeds")
    explainers = spec.get("explainers")
    if explainers is not None and (not isinstance(explainers, list) or not all(isinstance(e, str) for e in explainers)):
        raise UserError(f"{where}.explainers must be a list of the suite's explainer labels, got {explainers!r}")
    return ModelVariant(name=name, kind=kind, model=model_cfg, train=train_cfg, seeds=variant_seeds,
                        baseline=str(spec.get("baseline", "")), description=str(spec.get("description", "")),
                        overrides={k: v for k, v in own.items() if v}, explainers=explainers)


def build_variants(models: Any, model: ModelConfig, train: TrainConfig, seeds: list[int],
                   late: dict[str, dict[str, Any]]) -> list[ModelVariant]:
    """Validate a suite's ``models`` (list of kinds or mapping of variants) into ``ModelVariant``s.

    ``late`` holds the command line's section overrides ({"model": {...}, "train": {...}, "seeds": ...}),
    applied after each variant's own."""
    if isinstance(models, list) and models:
        for kind in models:
            if kind not in MODEL_KINDS:
                raise unknown("model kind", str(kind), MODEL_KINDS)
        if len(set(models)) != len(models):
            raise UserError(f"'models' lists a kind twice: {models}; use the mapping form to name variants")
        specs: dict[str, Any] = {str(kind): {"kind": kind} for kind in models}
    elif isinstance(models, dict) and models:
        specs = {str(name): spec for name, spec in models.items()}
    else:
        raise UserError("'models' must be a non-empty list of model kinds (vit, ia-vit) or a mapping "
                        "{name: {kind, model, train, seeds, baseline}}")
    variants = [_variant(name, spec, model, train, seeds, late) for name, spec in specs.items()]
    names = [v.name for v in variants]
    resolved = []
    for variant in variants:
        if variant.name in (MODEL_LEVEL, "") or "/" in variant.name or "," in variant.name:
            raise UserError(f"model name '{variant.name}' is not allowed (no '/', ',' or '-' alone)")
        if variant.baseline and variant.baseline not in names:
            raise unknown(f"baseline of models.{variant.name}", variant.baseline, names)
        if variant.baseline == variant.name:
            raise UserError(f"models.{variant.name} names itself as its baseline")
        if not variant.baseline and variant.kind == "ia-vit":
            variant = dataclasses.replace(variant, baseline=_default_baseline(variant, variants))
        resolved.append(variant)
    return resolved


def _default_baseline(variant: ModelVariant, variants: list[ModelVariant]) -> str:
    """The one plain ViT of the same backbone shape, if there is exactly one."""
    def shape(v: ModelVariant) -> ModelConfig:
        return dataclasses.replace(v.model, interpreter_scale=False)

    plain = [v.name for v in variants if v.kind == "vit" and shape(v) == shape(variant)]
    return plain[0] if len(plain) == 1 else ""
