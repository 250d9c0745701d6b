"""A run folder's stored files, read once for the report: results.csv (required), metrics.json (required),
explainers.json, models.json, manifest.json and each model's per-image test correctness (test_correctness.npz)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..records import (
    CORRECTNESS_FILE,
    ExplainerRecords,
    MetricRecords,
    check_records,
    explainer_records_of,
    metric_records_of,
)
from ..store import RESULT_COLUMNS

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


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"'{path}' is not valid JSON ({error}); re-run the suite to rewrite it") from None


@dataclass
class RunFiles:
    """What a run folder stores, read once: results and the run's records."""

    path: Path
    results: pd.DataFrame
    metrics: MetricRecords  # metrics.json
    explainers: ExplainerRecords  # explainers.json
    models: dict  # models.json
    manifest: dict  # manifest.json
    correctness: dict[str, pd.Series] = field(default_factory=dict)  # test_correctness.npz, see read_correctness

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
        return cls(run_dir, results, metric_records_of(metrics), explainer_records_of(explainers),
                   _read_json(run_dir / "models.json"),
                   _read_json(run_dir / "manifest.json"), read_correctness(run_dir / CORRECTNESS_FILE))

    @property
    def order(self) -> list[str]:
        return [m for m in self.metrics if m in set(self.results.metric)]

    @property
    def directions(self) -> dict[str, str]:
        return {name: record.direction for name, record in self.metrics.items()}

    def write_csv(self, frame: pd.DataFrame, name: str) -> Path:
        frame.to_csv(self.path / name, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        return self.path / name




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
