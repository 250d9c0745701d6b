"""What a run will cost, said before it starts, from what earlier runs measured.

Every run records what its stages cost per unit of work: seconds per training step of each model shape, per image
explained by each explainer and per image scored by each metric, and the fixed seconds of the rest (data, report),
keyed by the device and the intra-op threads per process. They go to ``costs.json`` in the cache folder, so that
the next run on this machine is estimated from this machine's own measurements. A machine that has measured
nothing yet is estimated from ``reference_costs.json``, shipped with the package and written by
``benchmarks/bench_run.py`` on a 2-core machine (the line says which source each estimate came from); work neither
has measured is named as not counted.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import config_hash

REFERENCE = Path(__file__).with_name("reference_costs.json")


# model fields that change what a model computes but not what a forward costs: reset before a shape is keyed, so
# that an ablation (dropout, the interpreter's scaling, another checkpoint) is estimated from its base model's costs
# (at their default values the keys are those written before this rule)
COST_NEUTRAL = {"drop_rate": 0.0, "drop_path_rate": 0.0, "pretrained": "", "interpreter_scale": False}


def shape_key(kind: str, model: object) -> str:
    """Names a model's shape (kind and model config, not its seed, recipe or the ``COST_NEUTRAL`` fields): what its
    cost per image depends on."""
    if dataclasses.is_dataclass(model):
        fields = {f.name for f in dataclasses.fields(model)}
        model = dataclasses.replace(model, **{k: v for k, v in COST_NEUTRAL.items() if k in fields})  # type: ignore[type-var]
    return f"{kind}-{config_hash(model)[:10]}"


def cost_key(stage: str, device: torch.device, threads: int, what: str, shape: str) -> str:
    return f"{stage}|{device.type}|{threads}|{what}|{shape}"


@dataclass
class CostBook:
    """Seconds per unit of work by key (``cost_key``): this machine's measurements, then the reference's."""

    path: Path | None
    measured: dict[str, float] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    new: dict[str, list[float]] = field(default_factory=dict)  # this run's: key -> [seconds, units]

    @classmethod
    def open(cls, cache_dir: Path | None) -> CostBook:
        path = Path(cache_dir).expanduser() / "costs.json" if cache_dir is not None else None
        return cls(path, _read(path), _read(REFERENCE))

    def lookup(self, key: str) -> tuple[float, str] | None:
        """(seconds per unit, "measured" | "reference") for ``key``; the same work at another thread count when
        none at this one (the intra-op threads change little for a tiny ViT)."""
        for book, source in ((self.measured, "measured"), (self.reference, "reference")):
            if key in book:
                return book[key], source
        loose = key.split("|")
        for book, source in ((self.measured, "measured"), (self.reference, "reference")):
            for other, value in sorted(book.items()):
                parts = other.split("|")
                if parts[:2] == loose[:2] and parts[3:] == loose[3:]:
                    return value, source
        return None

    def add(self, key: str, seconds: float, units: float) -> None:
        """Count ``seconds`` spent on ``units`` of the work named ``key`` in this run."""
        entry = self.new.setdefault(key, [0.0, 0.0])
        entry[0] += seconds
        entry[1] += units

    def merge(self, other: dict[str, list[float]]) -> None:
        for key, (seconds, units) in other.items():
            self.add(key, seconds, units)

    def save(self) -> None:
        """Write this run's measurements over the older ones of the same keys (atomically; a failure to write
        costs only the next estimate)."""
        if self.path is None or not self.new:
            return
        book = {**_read(self.path), **{k: s / u for k, (s, u) in self.new.items() if u > 0}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".costs-{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dict(sorted(book.items())), indent=1) + "\n")
            os.replace(tmp, self.path)
        except OSError:
            pass


def record_rest(costs: CostBook, keys: list[str], timings: dict[str, float]) -> None:
    """Count a run's fixed seconds (data, files, report) under each of ``keys``, then write this run's
    measurements."""
    for key in keys:  # one unit per run: set, so that a report built later replaces what was counted before it
        costs.new[key] = [sum(timings.get(k, 0.0) for k in ("data", "artifacts", "report")), 1.0]
    costs.save()


def _read(path: Path | None) -> dict[str, float]:
    if path is None or not path.exists():
        return {}
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (ValueError, TypeError, AttributeError):
        return {}  # a damaged book is an estimate lost, not a failed run


def duration(seconds: float) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
