"""The runner explains exactly the class the suite asks for: the true label or the model's prediction."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from test_runner import only_run_dir, write_suite

from iabench.baselines import EXPLAINERS, Explainer
from iabench.cli import main


@pytest.mark.slow
def test_explained_target_is_the_label_or_the_prediction_as_configured(tmp_path, capsys, monkeypatch) -> None:
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []  # (target given, model's prediction) per chunk

    class Recorder(Explainer):
        name = "recorder"
        family = "control"

        def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                seen.append((target.clone(), self.model(inputs).argmax(1)))
            return torch.rand(inputs.shape[0], *inputs.shape[-2:])

    monkeypatch.setitem(EXPLAINERS._entries, "recorder", Recorder)
    agreement = {}
    for target in ("predicted", "label"):
        seen.clear()
        suite = write_suite(tmp_path / f"{target}.yaml", explainers=["recorder"], models=["vit"], target=target,
                            metrics=["accuracy", "deletion"])
        out = tmp_path / target
        assert main(["run", "--suite", str(suite), "--out", str(out), "--quiet", "--device", "cpu"]) == 0
        capsys.readouterr()
        given, predicted = (torch.cat(part) for part in zip(*seen))
        agreement[target] = (given == predicted).double().numpy()
        results = pd.read_csv(only_run_dir(out) / "results.csv")
        correct = results[results.metric == "accuracy"].sort_values("sample").value.to_numpy()
        assert len(correct) == len(given) == 12
    assert agreement["predicted"].all()
    # with labels, the target equals the prediction exactly where the model is right (accuracy = 1)
    assert (agreement["label"] == correct).all() and not correct.all(), correct
