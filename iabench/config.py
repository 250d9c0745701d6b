"""Typed configuration: data, model and training, validated on load and hashed for caching.

Every stage's cache key is the hash of the config that produced it, so changing any field
(including the seed) retrains or recomputes, and nothing else does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import UserError
from .typed import from_dict

__all__ = ["DataConfig", "ModelConfig", "Preset", "TrainConfig", "VerdictConfig", "config_hash", "from_dict",
           "options_dict", "parse_override", "to_dict"]


@dataclass
class DataConfig:
    """Which dataset, where it lives and how images are prepared."""

    name: str = "fashion-mnist"
    root: str = ""  # "" = the dataset's default search path (see iabench.data)
    img_size: int = 28  # images are resized to img_size x img_size when it differs from the native size
    val_fraction: float = 0.1  # carved out of the training split, deterministically from `seed`
    seed: int = 0
    augment: bool = False  # random crop + flip for training (the paper's recipe for 224px sets)
    # Normalisation: None = the dataset's recorded statistics (from its training split)
    mean: list[float] | None = None
    std: list[float] | None = None
    limit_train: int = 0  # 0 = all; otherwise the first N training items (quick experiments, tests)
    # True when nothing is trained (--checkpoint): a single <class>/ image tree is then entirely the test split
    eval_only: bool = False
    # The dataset's own options, written flat in a suite's data section: its plugin's Options once the suite is read
    # (``data.config_options``, which validates them), a mapping in a config built by hand
    options: Any = field(default_factory=dict)

    HASH_NEUTRAL: ClassVar[dict[str, Any]] = {"eval_only": False}  # added later: old cache keys stay valid
    # Options that were flat DataConfig fields before datasets became plugins: a key holds them (their old defaults
    # where the dataset has no such option) exactly as before, so no cached checkpoint or run id changes.
    FLAT_OPTIONS: ClassVar[dict[str, Any]] = {"attribute": "Gray_Hair", "canvas": 56, "distractors": 3, "channels": 1}

    def hash_identity(self) -> dict[str, Any]:
        """What a cache key holds of this config (see ``config_hash``)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "options"}
        plain = without_neutral(fields, self.HASH_NEUTRAL)
        # a parsed Options' own options added later
        options = without_neutral(options_dict(self.options), getattr(self.options, "HASH_NEUTRAL", {}))
        plain.update({key: options.pop(key, default) for key, default in self.FLAT_OPTIONS.items()})
        if options:
            plain["options"] = options
        return plain


def options_dict(options: Any) -> dict[str, Any]:
    """A dataset's options as a plain mapping, whether parsed (an ``Options`` dataclass) or as written."""
    return dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)


@dataclass
class ModelConfig:
    """A timm ViT backbone and, for IA-ViT, its interpreter."""

    arch: str = "vit_tiny_patch16_224"  # any timm ViT/DeiT name
    img_size: int = 28
    patch_size: int = 4
    in_chans: int = 1
    num_classes: int = 10
    embed_dim: int | None = None  # None = the timm architecture's own value
    depth: int | None = None
    num_heads: int | None = None
    mlp_ratio: float | None = None
    drop_rate: float = 0.0
    drop_path_rate: float = 0.0
    # "" = random init; "hub" = timm's pretrained weights for `arch` (e.g.
    # "vit_base_patch16_224.augreg_in21k"); any other value = path of a local checkpoint file.
    pretrained: str = ""
    # IA-ViT interpreter: the official code applies no 1/sqrt(D) scaling to q.k^T.
    interpreter_scale: bool = False


@dataclass
class TrainConfig:
    """Optimiser, schedule and the IA-ViT objective."""

    optimizer: str = "adamw"  # adamw | sgd (the paper: SGD, momentum 0.9, lr 3e-2)
    lr: float = 1e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    epochs: int = 4
    max_steps: int = 0  # > 0 overrides epochs (the paper trains 10,000 steps)
    warmup_steps: int = 200
    batch_size: int = 128
    eval_batch_size: int = 512
    # Validation and test accuracy on a fixed random subset of this many images (0 = the whole split):
    # quick runs need not spend longer evaluating than training.
    eval_images: int = 0
    clip_grad: float = 1.0
    amp: str = "auto"  # auto (bf16/fp16 on CUDA, off on CPU) | off | fp16 | bf16
    label_smoothing: float = 0.0
    seed: int = 0
    # IA-ViT objective: CE + lambda_sim * KD + lambda_align * alignment
    sim: str = "kd"  # kd | none
    align: str = "mmd"  # mmd (proper biased MMD^2) | notebook (official code's cross-kernel mean) | none
    lambda_sim: float = 1.0
    lambda_align: float = 1.0
    temperature: float = 3.0
    detach_teacher: bool = False  # the official code lets the KD gradient reach the predictor
    interpreter_ce: float = 0.0  # weight of CE on the interpreter's logits (the STL-10 notebook uses 1)
    # the encoder's attention summary over its layers: "mean" (divided by the number of layers: it totals about 1,
    # as the interpreter's does) or "sum" (the official code: it totals about the depth, and the MMD^2 can then fall
    # by moving the patches' attention onto CLS; see training.losses and docs/models-and-training.md)
    encoder_summary: Literal["sum", "mean"] = "mean"
    num_workers: int = 0
    # Start from the weights of the same model trained first under these overrides of its data and train sections
    # ("data.placement=cell", "train.epochs=3"): a curriculum (training.warm). [] = from random (or pretrained) init.
    warm_start: list[str] = field(default_factory=list)

    # Fields added after checkpoints were first cached, left out of the cache key while they hold these
    # values (the behaviour before the field existed), so that adding a field does not invalidate every cached model.
    HASH_NEUTRAL: ClassVar[dict[str, Any]] = {"eval_images": 0, "encoder_summary": "sum", "warm_start": []}


@dataclass
class VerdictConfig:
    """How the verdict decides (report only: not part of a run's cache key)."""

    alpha: float = 0.05  # level of every test
    delta: float = 0.02  # smallest effect of interest on a faithfulness score (AUC): smaller reads "no effect"
    delta_accuracy: float = 0.01  # the same for test accuracy (1 point): claim (iii)'s equivalence margin


@dataclass
class Preset:
    """A named bundle of model, data and training defaults (``--preset``)."""

    name: str
    description: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = field(default_factory=TrainConfig)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def without_neutral(values: dict[str, Any], neutral: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the entries that hold their ``HASH_NEUTRAL`` value (fields added after keys were first
    written, at the value that behaves as before)."""
    return {k: v for k, v in values.items() if not (k in neutral and v == neutral[k])}


def _hashable(value: Any) -> Any:
    """Plain data for hashing: dataclasses (also nested, also in lists) become dicts without their
    hash-neutral fields."""
    if hasattr(value, "hash_identity"):
        return _hashable(value.hash_identity())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {k: _hashable(v) for k, v in without_neutral(fields, getattr(value, "HASH_NEUTRAL", {})).items()}
    if isinstance(value, list | tuple):
        return [_hashable(v) for v in value]
    if isinstance(value, dict):
        return {k: _hashable(v) for k, v in value.items()}
    return value


def config_hash(*parts: Any, length: int = 12) -> str:
    """A short stable hash of configs / plain values (dataclasses are turned into dicts first; a field
    listed in the class's ``HASH_NEUTRAL`` is left out while it holds the value listed there)."""
    plain = [_hashable(p) for p in parts]
    blob = json.dumps(plain, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``--set a.b=value`` into (["a", "b"], value), the value read as YAML (3 -> int, true -> bool)."""
    import yaml

    if "=" not in text:
        raise UserError(f"--set expects KEY=VALUE (e.g. train.epochs=3), got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value
