"""A run folder's stored files, each read once for the report: results.csv (required), metrics.json (required),
explainers.json, models.json, manifest.json, each model's per-image test correctness (test_correctness.npz), the
reliance checks and the model contrast of planted evidence, training.csv, curves.csv and heatmaps.npz."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import VerdictConfig, from_dict
from ..errors import UserError
from ..records import (
    CONTRAST_FILE,
    CORRECTNESS_FILE,
    PLACEMENT_FILE,
    RELIANCE_FILE,
    ExplainerRecord,
    ExplainerRecords,
    MetricRecord,
    MetricRecords,
    explainer_records_of,
    metric_records_of,
)
from ..store import CURVE_COLUMNS, RESULT_COLUMNS


@dataclass(frozen=True)
class RunRecords:
    """What a run recorded about its methods and models, typed: metrics.json, explainers.json, models.json."""

    metrics: MetricRecords = field(default_factory=MetricRecords)
    explainers: ExplainerRecords = field(default_factory=ExplainerRecords)
    models: Mapping[str, Any] = field(default_factory=dict)  # models.json: name -> kind, baseline, seeds

    @classmethod
    def read(cls, metrics: Mapping[str, Any] | None = None, explainers: Mapping[str, Any] | None = None,
             models: Mapping[str, Any] | None = None) -> RunRecords:
        """The records of JSON entries (or of records, kept as they are)."""
        return cls(metric_records_of(metrics), explainer_records_of(explainers), dict(models or {}))


FLOAT_FORMAT = "%.10g"  # fixed text for floats: deterministic files, ample precision for re-analysis


def read_long_csv(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """results.csv / curves.csv with labels kept as written (pandas would read an explainer labelled
    'null' or 'NA' as missing) and NaN only in the value column; a missing column is a UserError."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["nan", "NaN", ""]},
                            dtype={"model": str, "explainer": str, "metric": str})
    except pd.errors.EmptyDataError:
        raise UserError(f"'{path}' is empty (not even a header); run the suite (again) to compute it") from None
    missing = [c for c in (columns or []) if c not in frame.columns]
    if missing:
        raise UserError(f"'{path}' lacks the column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    if "value" in frame:
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")  # a stray text value counts as failed
    return frame


def missing_fields(infos: dict, fields: tuple[str, ...]) -> list[str]:
    """The fields of ``fields`` that some entry of ``infos`` lacks (in the order of ``fields``)."""
    return [f for f in fields if any(f not in info for info in infos.values())]


def check_records(run_dir: Path, metrics: dict, explainers: dict) -> None:
    """Refuse, in one line naming the command that completes them, records written by an earlier iabench."""
    lacking = [f"metrics.json lacks {', '.join(m)}" for m in [missing_fields(metrics, MetricRecord.required())] if m]
    lacking += [f"explainers.json lacks {', '.join(e)}"
                for e in [missing_fields(explainers, ExplainerRecord.required())] if e]
    if lacking:
        raise UserError(f"'{run_dir}' was written by an earlier iabench ({'; '.join(lacking)}); run `iabench refresh "
                        f"{run_dir}` once, then report it")


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"'{path}' is not valid JSON ({error}); re-run the suite to rewrite it") from None


@dataclass
class RunFiles:
    """What a run folder stores, each file read once (the figures' inputs, curves, maps and training, when first asked
    for): the report's only reader of a run."""

    path: Path
    results: pd.DataFrame
    records: RunRecords = field(default_factory=RunRecords)  # metrics.json, explainers.json, models.json
    manifest: dict = field(default_factory=dict)  # manifest.json
    correctness: dict[str, pd.Series] = field(default_factory=dict)  # test_correctness.npz, see read_correctness
    reliance: pd.DataFrame | None = None  # reliance.csv: a run on planted evidence (None: none)
    contrast: pd.DataFrame | None = None  # contrast.csv, once `iabench contrast` ran
    placement: pd.DataFrame | None = None  # placement.csv: a run of straddling evidence compared with aligned

    @classmethod
    def read(cls, run_dir: Path) -> RunFiles:
        results_path = run_dir / "results.csv"
        if not results_path.exists():
            raise UserError(f"'{run_dir}' holds no results.csv; give a run folder such as reports/faithfulness/<id>")
        results = read_long_csv(results_path, RESULT_COLUMNS)
        if results.empty:
            raise UserError(f"'{results_path}' has no rows yet; run the suite (again) to compute them")
        if not (run_dir / "metrics.json").exists():
            raise UserError(f"'{run_dir}' holds no metrics.json (each metric's direction); re-run the suite to "
                            "write it")
        metrics = _read_json(run_dir / "metrics.json")
        unknown = sorted(set(results.metric) - set(metrics))
        if unknown:
            raise UserError(f"metrics.json has no entry (direction) for {', '.join(unknown)}; re-run the suite")
        explainers = _read_json(run_dir / "explainers.json")
        check_records(run_dir, metrics, explainers)
        records = RunRecords.read(metrics, explainers, _read_json(run_dir / "models.json"))
        return cls(run_dir, results, records, _read_json(run_dir / "manifest.json"),
                   read_correctness(run_dir / CORRECTNESS_FILE), _read_csv(run_dir / RELIANCE_FILE),
                   _read_csv(run_dir / CONTRAST_FILE), _read_csv(run_dir / PLACEMENT_FILE))

    @property
    def metrics(self) -> MetricRecords:
        return self.records.metrics

    @property
    def explainers(self) -> ExplainerRecords:
        return self.records.explainers

    @property
    def models(self) -> dict:
        return self.records.models  # type: ignore[return-value]

    @property
    def order(self) -> list[str]:
        return [m for m in self.metrics if m in set(self.results.metric)]

    @property
    def directions(self) -> dict[str, str]:
        return {name: record.direction for name, record in self.metrics.items()}

    @property
    def suite(self) -> str:
        return str(self.manifest.get("suite", self.path.parent.name))

    @cached_property
    def verdict_settings(self) -> VerdictConfig:
        """How the run's verdict decides (α, δ), as its manifest recorded the suite's ``verdict`` section."""
        return from_dict(VerdictConfig, (self.manifest.get("config") or {}).get("verdict"), "verdict")

    @cached_property
    def curves(self) -> pd.DataFrame | None:
        """curves.csv without its failed steps (None: the run wrote none)."""
        path = self.path / "curves.csv"
        return read_long_csv(path, CURVE_COLUMNS).dropna(subset=["value"]) if path.exists() else None

    @cached_property
    def training(self) -> pd.DataFrame | None:
        """training.csv (None: the run trained nothing)."""
        return _read_csv(self.path / "training.csv")

    @cached_property
    def heatmaps(self) -> dict[str, np.ndarray]:
        """heatmaps.npz's arrays by name ({} without it)."""
        if not (self.path / "heatmaps.npz").exists():
            return {}
        with np.load(self.path / "heatmaps.npz") as archive:
            return {k: archive[k] for k in archive.files}

    def write_csv(self, frame: pd.DataFrame, name: str) -> Path:
        frame.to_csv(self.path / name, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        return self.path / name


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


def read_correctness(path: Path) -> dict[str, pd.Series]:
    """model -> its per-image correctness (1.0 right, 0.0 wrong) indexed by (seed, test image index), from
    test_correctness.npz; empty when the run wrote none (runs before it existed)."""
    if not path.exists():
        return {}
    parts: dict[str, list[pd.Series]] = {}
    with np.load(path) as archive:
        for key in archive.files:
            model, seed, part = key.rsplit("__", 2)
            if part != "correct":
                continue
            index = pd.MultiIndex.from_arrays([np.full(archive[key].size, int(seed.removeprefix("seed"))),
                                               archive[f"{model}__{seed}__index"]], names=["seed", "sample"])
            parts.setdefault(model, []).append(pd.Series(archive[key].astype(float), index=index))
    return {model: pd.concat(series).sort_index() for model, series in parts.items()}
