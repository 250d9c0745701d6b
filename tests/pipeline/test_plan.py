"""The run's plan (iabench/pipeline/plan.py): the metrics built from the suite, with the batch size free CUDA memory
allows given only to the metrics that take one."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from iabench.metrics import METRICS
from iabench.pipeline import plan
from iabench.suites import load_suite


def takes_max_batch(name: str) -> bool:
    return "max_batch" in {f.name for f in dataclasses.fields(METRICS.get(name).Options)}


@pytest.fixture
def every_metric_suite():
    fixed = "{name: deletion, label: fixed, options: {max_batch: 5}}"
    return load_suite("faithfulness", [f"metrics=[{','.join(METRICS.names())},{fixed}]"])


def test_cuda_batch_size_goes_only_to_metrics_that_take_it(monkeypatch, every_metric_suite):
    # a CUDA device needs no GPU to be named; free memory is what batch_size_for would read from it
    monkeypatch.setattr(plan, "batch_size_for", lambda device, default, per_item: 77)
    metrics = plan.create_metrics(every_metric_suite, torch.device("cuda"))
    assert set(metrics) == {*METRICS.names(), "fixed"}
    batched = {label for label, m in metrics.items() if getattr(m.options, "max_batch", None) == 77}
    assert batched == {name for name in METRICS.names() if takes_max_batch(name)}
    assert {"insertion", "deletion", "morf", "lerf"} <= batched
    assert {"entropy", "accuracy", "agreement", "conservation", "rank-correlation"}.isdisjoint(batched)
    assert metrics["fixed"].options.max_batch == 5  # a batch size the suite sets is kept


def test_cpu_metrics_keep_the_suites_options(every_metric_suite):
    metrics = plan.create_metrics(every_metric_suite, torch.device("cpu"))
    assert metrics["deletion"].options.max_batch is None
    assert metrics["fixed"].options.max_batch == 5
