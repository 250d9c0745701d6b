"""Planted evidence as a dataset protocol: a second planted-evidence dataset, written here as one plugin, gets its
reliance checks run and written, its protocol recorded in the run's manifest and its model contrast computed, with
nothing of evidence-fashion-mnist's (no motif, no garment) in the way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from iabench.config import DataConfig
from iabench.contract import Options, option
from iabench.data import DATASETS, DataBundle, DatasetPlugin, check_dataset, dataset_options
from iabench.data.config_options import data_config
from iabench.data.ground_truth import Check, GroundTruth
from iabench.pipeline.records import dataset_record
from iabench.pipeline.reliance import write_reliance
from iabench.records import RELIANCE_FILE, ContrastPairing, DatasetRecord, ExplainerRecord, MetricRecord
from iabench.reporting.ground_truth.contrast import model_contrast
from iabench.reporting.run_files import RunFiles


@dataclass(frozen=True)
class SpotOptions(Options):
    view: Literal["spot", "frame"] = option("spot", "what the label is")


class SpotTruth(GroundTruth):
    """A model relies on the spot when its first logit is large: a check with a known answer per model."""

    contrast = ContrastPairing(option="view", subject="spot", other="frame", mask="spot")

    def labelling(self, options: SpotOptions) -> str:
        return options.view

    def evidence_mask(self, options: SpotOptions) -> str:
        return options.view

    def checks(self, model, test, indices, device) -> list[Check]:  # noqa: ANN001
        images = torch.stack([test[i][0] for i in indices])
        score = float(model(images)[:, 0].mean())
        return [Check("first logit", score, ">= 1", score >= 1.0, len(indices))]


class Spots(DatasetPlugin):
    name = "spots"
    description = "a test's planted evidence"
    Options = SpotOptions
    masks = ("evidence", "spot", "frame")
    ground_truth = SpotTruth()


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> type[Spots]:
    check_dataset(Spots)  # what its file's @DATASETS.register does
    monkeypatch.setitem(DATASETS._entries, "spots", Spots)
    return Spots


def test_the_pipeline_runs_the_datasets_checks_and_records_its_protocol(registered, tmp_path) -> None:
    config = data_config({"name": "spots", "view": "frame"})
    test = TensorDataset(torch.ones(4, 1, 2, 2), torch.zeros(4, dtype=torch.long))
    bundle = DataBundle("spots", test, test, test, 2, 1, 2, [0.0], [1.0], masks=Spots.masks)
    trained = {(0, "good"): SimpleNamespace(model=lambda x: x.flatten(1) * 3, test_index=None),
               (0, "poor"): SimpleNamespace(model=lambda x: x.flatten(1) * 0.5, test_index=torch.tensor([1, 2]))}
    write_reliance(tmp_path, trained, bundle, config, torch.device("cpu"))
    checks = pd.read_csv(tmp_path / RELIANCE_FILE)
    assert checks[["model", "check", "value", "passed", "images"]].values.tolist() == [
        ["good", "first logit", 3.0, True, 4], ["poor", "first logit", 0.5, False, 2]]
    record = dataset_record(bundle, config)
    assert record.ground_truth == {"labelling": "frame", "evidence_mask": "frame", "contrast": {
        "option": "view", "subject": "spot", "other": "frame", "mask": "spot"}}
    assert dataset_options(config) is config.options  # parsed once, when the suite was read
    plain = DataConfig(name="fashion-mnist")
    write_reliance(tmp_path / "none", trained, bundle, plain, torch.device("cpu"))  # no planted evidence: nothing
    assert not (tmp_path / "none").exists()


def _run(folder: Path, view: str, label: str, mass: dict[int, float]) -> RunFiles:
    folder.mkdir()
    pd.DataFrame([dict(run="r", seed=s, model="m", explainer="e", metric=label, sample=k, value=v)
                  for s, v in mass.items() for k in range(2)]).to_csv(folder / "results.csv", index=False)
    mask = None if view == "spot" else "spot"
    (folder / "metrics.json").write_text(json.dumps({label: MetricRecord(name="foreground-mass", unit="pixel",
                                                                          mask=mask).to_json()}))
    (folder / "explainers.json").write_text(json.dumps({"e": ExplainerRecord(name="e").to_json()}))
    truth = Spots.ground_truth.record(SpotOptions(view=view))
    (folder / "manifest.json").write_text(json.dumps(dict(dataset=DatasetRecord(
        name="spots", options={"view": view}, ground_truth=truth).to_json())))
    return RunFiles.read(folder)


def test_the_contrast_pairs_what_the_dataset_declared(tmp_path) -> None:
    spot = _run(tmp_path / "a", "spot", "foreground-mass", {0: 0.9, 1: 0.7})
    frame = _run(tmp_path / "b", "frame", "spot-mass", {0: 0.4, 1: 0.5})
    row = model_contrast(spot, frame).iloc[0]
    assert (row.contrast, row.unit, row.n) == (pytest.approx(0.35, abs=1e-12), "image", 4)  # (0.5+0.5+0.2+0.2)/4
    assert row.motif_model == pytest.approx(0.8) and row.garment_model == pytest.approx(0.45)
    with pytest.raises(Exception, match="one run with view spot and one with view frame, got views spot and spot"):
        model_contrast(spot, spot)
