"""The scorer (iabench/pipeline/score.py) on hand-made samples and a fake results store: which images each metric
scores, what a model-level metric stores, the reference map rank correlation receives, and the seconds it counts."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from iabench.baselines import EXPLAINERS
from iabench.config import config_hash
from iabench.metrics import create_metric
from iabench.models import create_model
from iabench.pipeline import score
from iabench.pipeline.costs import CostBook, cost_key
from iabench.pipeline.plan import WorkItem
from iabench.pipeline.samples import Samples
from iabench.pipeline.score import Scorer, Subject, method_cost_key, pending_images
from iabench.suites import MethodSpec

CPU = torch.device("cpu")


class Rows:
    """A results store in memory: what is missing, and every stored value by key."""

    def __init__(self) -> None:
        self.values: dict[tuple, float] = {}

    def missing(self, keys) -> list[tuple]:
        return [k for k in keys if k not in self.values]

    def add(self, seed, model, explainer, metric, samples, values, curve_x=None, curves=None) -> None:
        for sample, value in zip(samples, values):
            self.values[(seed, model, explainer, metric, sample)] = float(value)


class Maps:
    """The explanation stage, faked: a fixed map per explainer label, and rank correlation's reference label."""

    def __init__(self, maps: dict[str, torch.Tensor], reference: str | None = None) -> None:
        self.maps, self.reference = maps, reference
        self.classes = {label: EXPLAINERS.get(label) for label in maps}
        self.specs: dict = {}
        self.computed, self.failures = False, None

    def __call__(self, model, key, label, images, targets, idx, seed, model_name, masks=None) -> torch.Tensor:
        return self.maps[label][[i - 10 for i in idx]]  # the samples' dataset indices are 10..15

    def reference_label(self, metric, kind) -> str | None:
        return self.reference


@pytest.fixture
def samples() -> Samples:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(6, 1, 28, 28, generator=generator)
    return Samples(list(range(10, 16)), images, torch.tensor([0, 1, 2, 3, 4, 5]), None)


def test_how_many_images_of_a_chunk_a_metric_scores() -> None:
    scorer = SimpleNamespace(specs={"first5": MethodSpec("deletion", "first5", samples=5)})
    assert Scorer.count(scorer, "first5", 4, 8) == 1  # of the chunk [4, 8), only image 4 is among the first 5
    assert Scorer.count(scorer, "first5", 8, 12) == 0
    assert Scorer.count(scorer, "deletion", 4, 8) == 4  # no limit: the whole chunk


def test_a_model_level_metric_on_every_chunk_with_its_cost(samples, tiny_config, monkeypatch) -> None:
    model = create_model("vit", tiny_config).eval()
    costs, rows = CostBook(None), Rows()
    metrics = {"accuracy": create_metric("accuracy"), "first3": create_metric("accuracy")}
    scorer = Scorer(metrics, Maps({}), rows, samples, CPU, "label", batch_size=4,
                    specs=[MethodSpec("accuracy", "first3", samples=3)], costs=costs)
    item, subject = WorkItem(0, "vit", None), Subject(model, "vit", "key", shape="7x7")
    assert pending_images(scorer, item, "vit") == {"accuracy": 6, "first3": 3}
    clock = itertools.count(100.0, 0.5)  # every reading of the clock half a second after the last
    monkeypatch.setattr(score, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    scorer(item, subject)  # the default chunks: all of a one-process run's, [0, 4) and [4, 6)
    with torch.no_grad():
        correct = (model(samples.images).argmax(1) == samples.labels).double().tolist()
    assert {s: rows.values[(0, "vit", "-", "accuracy", s)] for s in range(10, 16)} == dict(zip(range(10, 16), correct))
    assert [rows.values.get((0, "vit", "-", "first3", s)) for s in range(10, 16)] == [*correct[:3], None, None, None]
    assert pending_images(scorer, item, "vit") == {"accuracy": 0, "first3": 0}
    # half a second per metric and chunk: accuracy 1 s over 6 images in two chunks, first3 0.5 s over 3 in one
    key = cost_key("metric", CPU, torch.get_num_threads(), "accuracy", "7x7")
    assert costs.new[key] == [1.0, 6.0]
    assert costs.new[cost_key("metric", CPU, torch.get_num_threads(), "first3", "7x7")] == [0.5, 3.0]


@pytest.mark.parametrize("reference", ["occlusion", "attention"])
def test_rank_correlation_gets_the_reference_explainers_map(samples, tiny_config, reference) -> None:
    model = create_model("vit", tiny_config).eval()
    maps = {"attention": torch.rand(6, 28, 28), "occlusion": torch.rand(6, 28, 28)}
    metric = create_metric("rank-correlation", reference=reference)
    rows = Rows()
    scorer = Scorer({"rank": metric}, Maps(maps, reference), rows, samples, CPU, "label", batch_size=6)
    scorer(WorkItem(0, "vit", "attention"), Subject(model, "vit", "key"))
    expected = [spearmanr(maps["attention"][i].flatten(), maps[reference][i].flatten())[0] for i in range(6)]
    got = [rows.values[(0, "vit", "attention", "rank", s)] for s in range(10, 16)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert (np.array(got) > 0.99).all() == (reference == "attention")


def test_cost_keys_name_the_options_of_the_stage() -> None:
    options = {"n_steps": 8}
    scorer = SimpleNamespace(explanations=SimpleNamespace(specs={"ig": MethodSpec("integrated-gradients", "ig",
                                                                                  options)}),
                             specs={"ig": MethodSpec("deletion", "ig", {"step": 3})}, device=CPU)
    threads = torch.get_num_threads()
    assert method_cost_key(scorer, "explain", "ig", "7x7") == cost_key(
        "explain", CPU, threads, f"ig#{config_hash(options)[:6]}", "7x7")
    assert method_cost_key(scorer, "metric", "ig", "7x7") == cost_key(
        "metric", CPU, threads, f"ig#{config_hash({'step': 3})[:6]}", "7x7")
    assert method_cost_key(scorer, "metric", "accuracy", "7x7") == cost_key("metric", CPU, threads, "accuracy", "7x7")


@pytest.mark.parametrize("computed", [True, False])
def test_the_seconds_of_explaining_count_only_when_a_map_was_computed(samples, tiny_config, monkeypatch,
                                                                      computed) -> None:
    maps = Maps({"attention": torch.rand(6, 28, 28)})
    maps.computed = computed  # False: the maps came from the cache, which costs nothing worth counting
    costs = CostBook(None)
    scorer = Scorer({"entropy": create_metric("entropy")}, maps, Rows(), samples, CPU, "label", batch_size=4,
                    costs=costs)
    clock = itertools.count(100.0, 0.5)
    monkeypatch.setattr(score, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    scorer(WorkItem(0, "vit", "attention"), Subject(create_model("vit", tiny_config).eval(), "vit", "key", "7x7"))
    threads = torch.get_num_threads()
    assert costs.new.get(cost_key("explain", CPU, threads, "attention", "7x7")) == ([1.0, 6.0] if computed else None)
    assert costs.new[cost_key("metric", CPU, threads, "entropy", "7x7")] == [1.0, 6.0]
