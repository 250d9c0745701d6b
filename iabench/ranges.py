"""Allowed ranges of the numeric config fields, checked when a config is built (before any work), so that
a bad value is one line naming the key, the value and what is allowed, never a traceback deep in training.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import UserError

# (low, high, low inclusive, high inclusive); None = unbounded on that side
AT_LEAST_1 = (1, None, True, False)
AT_LEAST_0 = (0, None, True, False)
POSITIVE = (0, None, False, False)
FRACTION = (0, 1, True, False)  # [0, 1)

RANGES: dict[str, dict[str, tuple[Any, Any, bool, bool]]] = {
    "DataConfig": dict(img_size=AT_LEAST_1, val_fraction=FRACTION, limit_train=AT_LEAST_0),
    "ModelConfig": dict(img_size=AT_LEAST_1, patch_size=AT_LEAST_1, in_chans=AT_LEAST_1, num_classes=AT_LEAST_1,
                        embed_dim=AT_LEAST_1, depth=AT_LEAST_1, num_heads=AT_LEAST_1, mlp_ratio=POSITIVE,
                        drop_rate=FRACTION, drop_path_rate=FRACTION),
    "TrainConfig": dict(lr=POSITIVE, weight_decay=AT_LEAST_0, momentum=FRACTION, epochs=AT_LEAST_0,
                        max_steps=AT_LEAST_0, warmup_steps=AT_LEAST_0, batch_size=AT_LEAST_1,
                        eval_batch_size=AT_LEAST_1, eval_images=AT_LEAST_0, clip_grad=AT_LEAST_0,
                        label_smoothing=FRACTION,
                        lambda_sim=AT_LEAST_0, lambda_align=AT_LEAST_0, temperature=POSITIVE,
                        interpreter_ce=AT_LEAST_0, num_workers=AT_LEAST_0),
    "VerdictConfig": dict(alpha=(0, 0.5, False, False), delta=AT_LEAST_0, delta_accuracy=AT_LEAST_0),
}


def describe(bounds: tuple[Any, Any, bool, bool]) -> str:
    low, high, low_in, high_in = bounds
    if high is None:
        return f"{'>=' if low_in else '>'} {low}"
    return f"in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"


def inside(value: float, bounds: tuple[Any, Any, bool, bool]) -> bool:
    low, high, low_in, high_in = bounds
    if not math.isfinite(value):
        return False
    above = value >= low if low_in else value > low
    below = high is None or (value <= high if high_in else value < high)
    return above and below


def check_ranges(config: Any, where: str) -> None:
    """Raise a one-line ``UserError`` for the first numeric field of ``config`` outside its range."""
    for key, bounds in RANGES.get(type(config).__name__, {}).items():
        value = getattr(config, key)
        if value is not None and not inside(float(value), bounds):
            raise UserError(f"{where}.{key} = {value!r} is out of range; it must be {describe(bounds)}")
    if type(config).__name__ == "DataConfig" and config.std is not None and any(s <= 0 for s in config.std):
        raise UserError(f"{where}.std = {config.std!r} is out of range; every value must be > 0")
    if type(config).__name__ == "ModelConfig":
        if config.img_size % config.patch_size:
            raise UserError(f"{where}.patch_size = {config.patch_size} does not divide {where}.img_size = "
                            f"{config.img_size}; choose a divisor (e.g. {_divisor(config.img_size)})")
        if config.embed_dim and config.num_heads and config.embed_dim % config.num_heads:
            raise UserError(f"{where}.num_heads = {config.num_heads} does not divide {where}.embed_dim = "
                            f"{config.embed_dim}; choose a divisor")


def _divisor(size: int) -> int:
    return next((d for d in (16, 8, 7, 4, 2, 1) if size % d == 0), 1)
