"""The records a run writes of its explainers and metrics, typed once (iabench.records), built once from the
registered classes (iabench.pipeline.records) for the run and for `iabench refresh` alike, and read back typed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from iabench.baselines import EXPLAINERS
from iabench.metrics import METRICS
from iabench.pipeline.artifacts import explainers_info, metrics_info
from iabench.pipeline.records import explainer_record
from iabench.records import ExplainerRecord, MetricRecord, explainer_records_of, metric_records_of
from iabench.refresh import complete_records, refresh
from iabench.reporting.run_files import RunFiles
from iabench.suites.methods import MethodSpec


def test_every_explainers_record_reads_back_as_written() -> None:
    classes = {name: EXPLAINERS.get(name) for name in EXPLAINERS.names() if name != "shuffled"}
    classes["shuffled:ia-vit"] = EXPLAINERS.get("shuffled").resolved({"of": "ia-vit"})
    written = json.loads(json.dumps(explainers_info(classes)))  # through JSON, as a run folder holds it
    for label, entry in written.items():
        record = ExplainerRecord.read(label, entry)
        assert record == explainer_record(classes[label]) and record.to_json() == entry, label
        assert set(entry) == set(ExplainerRecord.required()), label  # every field, no other
    assert written["shuffled:ia-vit"]["shuffles"] == "ia-vit" and written["shuffled:ia-vit"]["resolution"] == "patch"


def test_every_metrics_record_reads_back_as_written_with_its_scope_and_extras() -> None:
    metrics = {name: METRICS.create(name) for name in METRICS.names()}
    metrics["deletion[black]"] = METRICS.create("deletion", substrate="black", black_value=[-1.0])
    specs = [MethodSpec(label="deletion", name="deletion", samples=50, explainers=("ia-vit", "rollout"))]
    written = json.loads(json.dumps(metrics_info(metrics, specs)))
    for label, entry in written.items():
        record = MetricRecord.read(label, entry)
        assert record.to_json() == entry, label
        assert set(MetricRecord.required()) <= set(entry) <= set(MetricRecord.required()) | {"black_value",
                                                                                             "extra_of"}
    records = metric_records_of(written)
    assert records.of("deletion").samples == 50 and records.of("deletion").explainers == ("ia-vit", "rollout")
    assert records.of("deletion[black]").black_value == (-1.0,)
    extra = records.of("conservation-softmax")
    assert extra.extra_of == "conservation" and extra.display_name == "Conservation gap (softmax)"


def test_refresh_fills_a_field_with_what_a_run_would_have_written() -> None:
    run = metrics_info({"deletion": METRICS.create("deletion", unit="patch")})["deletion"]
    old = {k: v for k, v in run.items() if k not in ("family", "curve_axes")}  # written before these existed
    metrics, explainers, added = complete_records({"deletion": old}, {"rollout": {"name": "rollout"}})
    assert added[:2] == ["baseline", "control"] and "family" in added and "curve_axes" in added
    assert metrics["deletion"] == run
    assert explainers["rollout"] == explainer_record(EXPLAINERS.get("rollout")).to_json()


def test_nothing_recorded_reads_as_the_defaults() -> None:
    assert explainer_records_of({}).of("mine") == ExplainerRecord(name="mine")
    assert explainer_records_of({"mine": {"name": None, "family": None}}).of("mine").family == "other"
    assert metric_records_of({"m": {"direction": "lower"}}).of("m") == MetricRecord(name="m", direction="lower")
    assert metric_records_of({"m": {"direction": "lower"}}).of("n") == MetricRecord(name="n")  # not recorded
    assert MetricRecord(name="m", direction="lower").lower_is_better
    with pytest.raises(TypeError):
        MetricRecord(name="m", direction="lower", unknown=1)  # the fields are the record's, no other
    assert dataclasses.fields(MetricRecord)[0].name == "name"


def test_the_report_reads_typed_records(tmp_path) -> None:
    from support import write_run

    write_run(tmp_path)
    run = RunFiles.read(tmp_path)
    assert all(isinstance(r, MetricRecord) for r in run.metrics.values())
    assert all(isinstance(r, ExplainerRecord) for r in run.explainers.values())
    assert run.metrics["deletion"].lower_is_better and run.explainers["random"].is_control


def test_refresh_records_a_planted_evidence_datasets_protocol_once(tmp_path) -> None:
    (tmp_path / "metrics.json").write_text("{}")
    old = {"name": "evidence-fashion-mnist", "options": {"task": "garment", "canvas": 56}}  # written before it existed
    (tmp_path / "manifest.json").write_text(json.dumps({"dataset": old, "suite": "s"}))
    assert refresh(tmp_path) == ["ground_truth"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["suite"] == "s" and manifest["dataset"]["ground_truth"] == {
        "labelling": "garment", "evidence_mask": "garment",
        "contrast": {"option": "task", "subject": "motif", "other": "garment", "mask": "motif"}}
    assert refresh(tmp_path) == []  # once
    (tmp_path / "manifest.json").write_text(json.dumps({"dataset": {"name": "fashion-mnist", "options": {}}}))
    assert refresh(tmp_path) == [] and "ground_truth" not in json.loads((tmp_path / "manifest.json").read_text())[
        "dataset"]  # no planted evidence: nothing to record
