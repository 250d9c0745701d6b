"""``iabench refresh RUN_DIR``: complete the records of a run folder written by an earlier iabench, once, from the
registered classes (the report itself never reads the registries; see ``iabench.records``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from .baselines import EXPLAINERS
from .data import DATASETS
from .errors import UserError
from .metrics import METRICS
from .pipeline.artifacts import write_json
from .pipeline.records import explainer_record, records_of_metric
from .records import ExplainerRecord, MetricRecord


def _metric_fields(label: str, info: dict) -> dict[str, Any]:
    """Every field of this version for one metrics.json entry, from its registered class (None when unknown)."""
    name = str(info.get("name") or label)
    if name not in METRICS:
        return {field: None for field in MetricRecord.required()}
    cls = METRICS.get(name)
    unit = {"unit": info["unit"]} if getattr(cls, "curve", False) and info.get("unit") else {}
    record = records_of_metric(label, cls(**unit) if unit else cls())[label]
    return dataclasses.replace(record, samples=None, explainers=None).to_json()


def _explainer_fields(label: str, info: dict) -> dict[str, Any]:
    """Every field of this version for one explainers.json entry, from its registered class (None when unknown)."""
    name = str(info.get("name") or label)
    if name not in EXPLAINERS:
        return {field: None for field in ExplainerRecord.required()}
    cls = EXPLAINERS.get(name)
    if info.get("shuffles"):
        cls = cls.resolved({"of": info["shuffles"]})
    return {**explainer_record(cls).to_json(), "shuffles": info.get("shuffles")}


def complete_records(metrics: dict, explainers: dict) -> tuple[dict, dict, list[str]]:
    """The records with every missing field filled from the registry (recorded values stay as they are), and the
    fields that were added."""
    added: set[str] = set()

    def complete(infos: dict, fields_of: Any) -> dict:
        out = {}
        for label, info in infos.items():
            missing = {k: v for k, v in fields_of(label, info).items() if k not in info}
            added.update(missing)
            out[label] = {**info, **missing}
        return out

    return complete(metrics, _metric_fields), complete(explainers, _explainer_fields), sorted(added)


def refresh(run_dir: Path) -> list[str]:
    """Complete metrics.json, explainers.json and the manifest's dataset record of ``run_dir`` in place; returns the
    fields added."""
    paths = [Path(run_dir) / name for name in ("metrics.json", "explainers.json")]
    if not paths[0].exists():
        raise UserError(f"'{run_dir}' holds no metrics.json; give a run folder such as reports/faithfulness/<id>")
    metrics, explainers = (json.loads(p.read_text()) if p.exists() else {} for p in paths)
    metrics, explainers, added = complete_records(metrics, explainers)
    write_json(paths[0], metrics)
    write_json(paths[1], explainers)
    return added + _complete_ground_truth(Path(run_dir) / "manifest.json")


def _complete_ground_truth(path: Path) -> list[str]:
    """The manifest's dataset ``ground_truth``, from its plugin's declaration, when the dataset plants evidence and the
    run was written before it was recorded; ["ground_truth"] when it was added."""
    manifest = json.loads(path.read_text()) if path.exists() else {}
    dataset = manifest.get("dataset") or {}
    if "ground_truth" in dataset or dataset.get("name") not in DATASETS:
        return []
    plugin = DATASETS.get(dataset["name"])
    if plugin.ground_truth is None:
        return []
    options = plugin.Options.parse(dataset.get("options") or {}, f"dataset {dataset['name']}")
    manifest["dataset"] = {**dataset, "ground_truth": plugin.ground_truth.record(options)}
    write_json(path, manifest)
    return ["ground_truth"]


def metric_records(infos: dict) -> dict:
    """metrics.json entries completed from the registry (hand-written records in tests and notebooks)."""
    return complete_records(infos, {})[0]


def explainer_records(infos: dict) -> dict:
    """explainers.json entries completed from the registry."""
    return complete_records({}, infos)[1]
