"""The runner explains exactly the class the suite asks for: the true label or the model's prediction."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from support import only_run_dir, write_suite

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
        # one process: what the recorder sees in forked explain+score processes stays in their copies of `seen`
        assert main(["run", "--suite", str(suite), "--out", str(out), "--quiet", "--device", "cpu", "--jobs", "1"]) == 0
        capsys.readouterr()
        given, predicted = (torch.cat(part) for part in zip(*seen))
        agreement[target] = (given == predicted).double().numpy()
        results = pd.read_csv(only_run_dir(out) / "results.csv")
        correct = results[results.metric == "accuracy"].sort_values("sample").value.to_numpy()
        assert len(correct) == len(given) == 12
    assert agreement["predicted"].all()
    # with labels, the target equals the prediction exactly where the model is right (accuracy = 1)
    assert (agreement["label"] == correct).all() and not correct.all(), correct


def test_rank_correlation_reuses_the_suites_own_reference_maps(tmp_path, capsys, monkeypatch) -> None:
    # occlusion is both an explainer of the suite and rank-correlation's reference: the runner hands the
    # metric its cached map, so occlusion runs once per (model, chunk) and scores exactly 1 against itself
    calls: list[int] = []
    occlusion = EXPLAINERS.get("occlusion")
    original = occlusion._attribute

    def counted(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls.append(inputs.shape[0])
        return original(self, inputs, target)

    monkeypatch.setattr(occlusion, "_attribute", counted)
    suite = write_suite(tmp_path / "s.yaml", explainers=["occlusion", "random", "centre"], models=["vit"],
                        metrics=["rank-correlation"])
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"),
                 "--quiet", "--device", "cpu", "--jobs", "1"]) == 0  # the calls are counted in this process
    capsys.readouterr()
    results = pd.read_csv(only_run_dir(tmp_path / "out") / "results.csv")
    assert sum(calls) == 12  # the 12 images once, not once more per explainer scored
    by_explainer = results.groupby("explainer").value.mean()
    # a map's rank correlation with itself is 1 up to the rounding of a correlation's float sums
    assert by_explainer["occlusion"] == pytest.approx(1.0, abs=1e-12) and abs(by_explainer["random"]) < 0.5
