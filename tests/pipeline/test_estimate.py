"""The plan line's estimate (iabench/pipeline/estimate.py, costs.py): known costs in, known seconds out; what a run
measures is what the next run is estimated from."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml

from iabench.cli import main
from iabench.metrics import METRICS
from iabench.pipeline.costs import CostBook, cost_key, duration, shape_key
from iabench.pipeline.estimate import Estimate, models_part, train_key
from iabench.pipeline.evaluation import Evaluation
from iabench.pipeline.explain import FailureLog
from iabench.pipeline.plan import explainer_classes
from iabench.pipeline.samples import Samples
from iabench.pipeline.shards import Shard
from iabench.store import ResultStore
from iabench.suites import load_suite

MICRO = {"preset": "vit-tiny-fmnist", "data": {"name": "synthetic", "img_size": 16, "limit_train": 256},
         "model": {"img_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2},
         "train": {"epochs": 1, "batch_size": 32, "warmup_steps": 2}, "models": ["vit", "ia-vit"], "samples": 12,
         "batch_size": 4, "explainers": ["ia-vit", "attention", "random"],
         "metrics": ["insertion", "deletion", "accuracy", "agreement"]}
CPU = torch.device("cpu")


def micro_suite(tmp_path: Path):
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(MICRO))
    return load_suite(str(path))


def test_training_is_the_longest_model_or_the_even_share_of_the_processes(tmp_path: Path) -> None:
    suite = micro_suite(tmp_path)
    vit, ia = suite.models
    book = CostBook(None, measured={train_key("vit", vit.model, vit.train, CPU, 1): 0.5,
                                    train_key("ia-vit", ia.model, ia.train, CPU, 1): 1.5})
    steps = 256 // 32  # one epoch of 256 images in batches of 32
    sequential, parallel = Estimate(), Estimate()
    text = models_part(suite, tmp_path, 256, CPU, 1, book, sequential)
    assert sequential.seconds["training"] == pytest.approx((0.5 + 1.5) * steps)  # 16 s, one after the other
    assert text == "train 2 models (vit/seed0, ia-vit/seed0; 8 steps), load 0 from the cache"
    models_part(suite, tmp_path, 256, CPU, 2, book, parallel)
    assert parallel.seconds["training"] == pytest.approx(1.5 * steps)  # the longest (12 s) > half the sum (8 s)
    assert parallel.sources == {"measured"} and not parallel.unknown


def test_explain_and_score_sums_each_pending_image_of_each_explainer_and_metric(tmp_path: Path) -> None:
    suite = micro_suite(tmp_path)
    classes = explainer_classes(suite.explainers)
    metrics = {s.label: METRICS.create(s.name, **s.options) for s in suite.metrics}
    samples = Samples(list(range(12)), torch.zeros(12, 1, 16, 16), torch.zeros(12, dtype=torch.long), None)
    book = CostBook(None)
    evaluation = Evaluation(suite, tmp_path, "r", classes, metrics, samples, CPU, tmp_path, book, FailureLog(None),
                            Shard())
    threads = torch.get_num_threads()
    for _, shape in evaluation.shapes().values():
        for label in classes:
            book.measured[cost_key("explain", CPU, threads, label, shape)] = 1.0
        for label in metrics:
            book.measured[cost_key("metric", CPU, threads, label, shape)] = 0.1
    # explained: vit x (attention, random), ia-vit x (ia-vit, attention, random): 5 x (1 + 0.1 + 0.1) x 12 images;
    # model-level: accuracy on both, agreement on ia-vit: 3 x 0.1 x 12
    estimate = Estimate()
    text = evaluation.plan(1, estimate)
    assert estimate.seconds["explain+score"] == pytest.approx(5 * 1.2 * 12 + 3 * 0.1 * 12)
    assert text == "explain+score 3 explainers x 4 metrics x 12 images"
    evaluation.plan(2, halved := Estimate())
    assert halved.seconds["explain+score"] == pytest.approx((5 * 1.2 * 12 + 3 * 0.1 * 12) / 2)
    store = ResultStore(tmp_path, "r")  # 6 images of vit/attention's insertion are stored already
    store.add(0, "vit", "attention", "insertion", list(range(6)), [0.5] * 6)
    evaluation.plan(1, resumed := Estimate())
    assert resumed.seconds["explain+score"] == pytest.approx(5 * 1.2 * 12 + 3 * 0.1 * 12 - 6 * 0.1)


def test_unmeasured_work_is_named_and_the_rest_says_where_numbers_came_from() -> None:
    estimate = Estimate()
    assert estimate.rate(None, "rise on vit") == 0.0 and estimate.rate((2.0, "reference"), "x") == 2.0
    estimate.seconds["training"] = 200.0
    assert estimate.text() == ("estimated 3 min 20 s (training 3 min 20 s), from the reference machine's costs "
                               "(2 cores); this machine has not timed this work yet; not counted, never timed: "
                               "rise on vit")
    assert (duration(59.4), duration(61), duration(3725)) == ("59 s", "1 min 01 s", "1 h 02 min")


def test_a_run_records_its_costs_and_the_next_run_is_estimated_from_them(tmp_path: Path, capsys) -> None:
    suite = tmp_path / "micro.yaml"
    suite.write_text(yaml.safe_dump(MICRO))
    args = ["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--quiet", "--device", "cpu", "--no-report", "--jobs", "1"]  # one process whatever the thread count
    assert main(args) == 0
    log = next((tmp_path / "out").glob("*/*/run.log")).read_text().splitlines()
    assert log[0].split(" ", 2)[2].startswith("plan: train 2 models (vit/seed0, ia-vit/seed0; 8 steps), load 0 "
                                               "from the cache; explain+score 3 explainers x 4 metrics x 12 images")
    costs = json.loads((tmp_path / "cache" / "costs.json").read_text())
    threads = torch.get_num_threads()
    for stage, label in (("explain", "attention"), ("explain", "ia-vit"), ("metric", "deletion"),
                         ("metric", "accuracy"), ("train", "b32")):
        assert any(k.startswith(f"{stage}|cpu|{threads}|{label}|") and v > 0 for k, v in costs.items()), label
    # the manifest keeps what the plan expected beside what each stage took (benchmarks/bench_estimate.py reads both)
    manifest = json.loads(next((tmp_path / "out").glob("*/*/manifest.json")).read_text())
    estimate = manifest["estimate"]
    assert set(estimate) == {"train", "explain+score", "rest", "sources", "not_counted"}
    assert estimate["explain+score"] == 0 and "attention on vit" in estimate["not_counted"]  # nothing measured yet
    assert main(args) == 0
    again = next((tmp_path / "out").glob("*/*/run.log")).read_text().splitlines()
    plan = [line for line in again if " plan: " in line][-1]
    assert "plan: train none, load 2 from the cache; explain+score: every score is stored already; estimated" in plan
    assert plan.endswith("from costs measured on this machine")
    estimate = json.loads(next((tmp_path / "out").glob("*/*/manifest.json")).read_text())["estimate"]
    assert estimate["sources"] == ["measured"] and estimate["not_counted"] == [] and estimate["train"] == 0
    # the fixed rest is kept per suite and per dataset: a suite never run here is estimated from another one's run
    # on the same data
    costs = json.loads((tmp_path / "cache" / "costs.json").read_text())
    assert costs["rest|cpu|0|data:synthetic|run"] == pytest.approx(costs["rest|cpu|0|micro|run"])
    assert costs["rest|cpu|0|micro|run"] > 0
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(dict(MICRO, name="other")))
    assert main([*args[:2], str(other), *args[3:]]) == 0
    first = json.loads(next((tmp_path / "out" / "other").glob("*/manifest.json")).read_text())["estimate"]
    assert first["rest"] == pytest.approx(round(costs["rest|cpu|0|data:synthetic|run"], 2), abs=0.011)
    capsys.readouterr()


def test_a_shape_is_keyed_by_what_a_forward_costs() -> None:
    """An ablation that changes dropout, the interpreter's scaling or the checkpoint is estimated from its base
    model's costs; the default model keeps the key the reference costs were written under."""
    model = load_suite("faithfulness").models[1].model
    assert shape_key("ia-vit", model) == "ia-vit-f80c1403bd"  # reference_costs.json's key
    for change in ({"interpreter_scale": True}, {"drop_rate": 0.1}, {"drop_path_rate": 0.1}, {"pretrained": "x.pt"}):
        assert shape_key("ia-vit", dataclasses.replace(model, **change)) == "ia-vit-f80c1403bd", change
    assert shape_key("ia-vit", dataclasses.replace(model, embed_dim=96)) != "ia-vit-f80c1403bd"
    assert shape_key("vit", model) == "vit-f80c1403bd"
