"""Parallel CPU training (--jobs), the evaluation subset (train.eval_images) and hash-neutral fields."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from iabench.config import DataConfig, ModelConfig, TrainConfig, config_hash
from iabench.data import load_dataset
from iabench.errors import UserError
from iabench.training import checkpoint_path, evaluate, load_checkpoint, train_or_load
from iabench.training.evaluation import eval_subset, evaluate_test_split
from iabench.training.parallel import TrainJob, auto_jobs, train_in_parallel

FAST = TrainConfig(epochs=1, batch_size=32, eval_batch_size=128, warmup_steps=2, lr=2e-3)
DATA = DataConfig(name="synthetic", img_size=16)


def test_hash_neutral_field_at_its_default_keeps_the_old_key() -> None:  # (run ids still see eval_images)
    # The key of a TrainConfig with its hash-neutral fields at their neutral values is the key computed without them, as
    # checkpoints cached before the field existed were keyed; any other value changes the key.
    as_before = dataclasses.replace(FAST, encoder_summary="sum")  # both hash-neutral fields at their neutral values
    plain = dataclasses.asdict(as_before)
    for added_later in TrainConfig.HASH_NEUTRAL:  # eval_images, encoder_summary
        del plain[added_later]
    assert config_hash("vit", as_before) == config_hash("vit", plain)
    assert config_hash("vit", dataclasses.replace(as_before, eval_images=100)) != config_hash("vit", as_before)
    assert config_hash("vit", FAST) != config_hash("vit", as_before)  # encoder_summary mean: in the key
    nested = {"train": as_before, "models": [as_before]}  # neutral inside lists and mappings too
    assert config_hash(nested) == config_hash({"train": plain, "models": [plain]})


def test_eval_subset_is_a_fixed_sorted_sample() -> None:
    data = load_dataset(DATA)
    subset = eval_subset(data.test, 10)
    expected = torch.randperm(len(data.test), generator=torch.Generator().manual_seed(0))[:10].sort().values
    assert list(subset.indices) == expected.tolist()
    assert eval_subset(data.test, 0) is data.test and eval_subset(data.test, 10**6) is data.test


def test_eval_images_limits_test_accuracy_to_the_subset(tmp_path: Path, micro_config: ModelConfig) -> None:
    data = load_dataset(DATA)
    config = dataclasses.replace(FAST, eval_images=40)
    trained = train_or_load("vit", micro_config, DATA, config, data, torch.device("cpu"), tmp_path, progress=False)
    assert trained.metrics["test_images"] == 40
    expected = evaluate(trained.model, eval_subset(data.test, 40), torch.device("cpu"))["acc"]
    assert trained.metrics["test_acc"] == pytest.approx(expected)
    full = evaluate(trained.model, data.test, torch.device("cpu"))["acc"]
    assert trained.metrics["test_acc"] != pytest.approx(full)  # a different set of images, another number


def test_a_cached_model_is_evaluated_again_on_another_number_of_images(tmp_path: Path, micro_config) -> None:
    # eval_images does not change the weights, so it is not part of the checkpoint's key; a cache hit
    # evaluated on another number of images is evaluated again, not reported with the stored numbers
    data = load_dataset(DATA)
    subset = dataclasses.replace(FAST, eval_images=40)
    assert checkpoint_path(tmp_path, "ia-vit", micro_config, subset, DATA) == checkpoint_path(
        tmp_path, "ia-vit", micro_config, FAST, DATA)
    trained = train_or_load("ia-vit", micro_config, DATA, FAST, data, torch.device("cpu"), tmp_path, progress=False)
    assert trained.metrics["test_images"] == len(data.test)
    again = train_or_load("ia-vit", micro_config, DATA, subset, data, torch.device("cpu"), tmp_path, progress=False)
    assert again.cached and again.metrics["test_images"] == 40
    expected = evaluate(again.model, eval_subset(data.test, 40), torch.device("cpu"))
    assert again.metrics["test_acc"] == expected["acc"] != trained.metrics["test_acc"]
    assert again.metrics["test_agreement"] == expected["agreement"]
    assert again.metrics["train_seconds"] == trained.metrics["train_seconds"]  # the rest as stored
    stored = train_or_load("ia-vit", micro_config, DATA, FAST, data, torch.device("cpu"), tmp_path, progress=False)
    assert stored.metrics == trained.metrics  # the checkpoint itself is left as trained
    # the subset's correctness is that of its own images: the 40 indices of the subset, in the split's order
    assert again.test_index.tolist() == eval_subset(data.test, 40).indices
    assert torch.equal(again.test_correct, trained.test_correct[again.test_index])
    assert torch.equal(stored.test_correct, trained.test_correct)  # and the checkpoint's are the whole split's


def test_a_checkpoint_without_per_image_correctness_is_evaluated_once_more(tmp_path: Path, micro_config,
                                                                          monkeypatch) -> None:
    import iabench.training.cache as cache

    data = load_dataset(DATA)
    trained = train_or_load("vit", micro_config, DATA, FAST, data, torch.device("cpu"), tmp_path, progress=False)
    path = checkpoint_path(tmp_path, "vit", micro_config, FAST, DATA)
    payload = torch.load(path, weights_only=True)
    torch.save({k: v for k, v in payload.items() if k not in ("test_index", "test_correct")}, path)  # as before
    calls = []
    monkeypatch.setattr(cache, "evaluate_test_split", lambda *a: calls.append(1) or evaluate_test_split(*a))
    first = train_or_load("vit", micro_config, DATA, FAST, data, torch.device("cpu"), tmp_path, progress=False)
    assert len(calls) == 1 and torch.equal(first.test_correct, trained.test_correct)
    assert first.metrics == trained.metrics
    second = train_or_load("vit", micro_config, DATA, FAST, data, torch.device("cpu"), tmp_path, progress=False)
    assert len(calls) == 1 and torch.equal(second.test_correct, trained.test_correct)  # stored: not again
    assert torch.load(path, weights_only=True)["state_dict"].keys() == payload["state_dict"].keys()


@pytest.fixture
def one_thread():
    """One torch thread for the test, the caller's count restored after it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_parallel_training_equals_sequential(tmp_path: Path, micro_config: ModelConfig, one_thread) -> None:
    # Two processes, one thread each, must write exactly the weights a sequential run trains (same seeds,
    # same configs): a job handed the wrong seed or config would differ. The sequential run has one thread too:
    # identical weights are promised for the same path and thread count only.
    jobs = [TrainJob("vit/seed0", "vit", micro_config, FAST),
            TrainJob("ia-vit/seed1", "ia-vit", micro_config, dataclasses.replace(FAST, seed=1))]
    seconds = train_in_parallel(jobs, DATA, DATA, tmp_path / "par", processes=2, progress=False)
    assert set(seconds) == {"vit/seed0", "ia-vit/seed1"} and all(s > 0 for s in seconds.values())
    data = load_dataset(DATA)
    for job in jobs:
        sequential = train_or_load(job.kind, job.model, DATA, job.train, data, torch.device("cpu"),
                                   tmp_path / "seq", progress=False)
        parallel, _ = load_checkpoint(checkpoint_path(tmp_path / "par", job.kind, job.model, job.train, DATA),
                                      job.kind, job.model)
        for (name, a), b in zip(sequential.model.state_dict().items(), parallel.state_dict().values()):
            assert torch.equal(a, b), (job.name, name)
    # everything cached now: nothing left to train
    assert train_in_parallel(jobs, DATA, DATA, tmp_path / "par", processes=2, progress=False) == {}


def test_parallel_training_reports_a_bad_config_as_one_user_error(tmp_path: Path, micro_config: ModelConfig) -> None:
    bad = dataclasses.replace(FAST, batch_size=10**6)  # larger than the training split
    jobs = [TrainJob(f"vit/seed{s}", "vit", micro_config, dataclasses.replace(bad, seed=s)) for s in (0, 1)]
    with pytest.raises(UserError, match="smaller than one batch"):
        train_in_parallel(jobs, DATA, DATA, tmp_path, processes=2, progress=False)
    with pytest.raises(UserError, match="--jobs 0"):
        train_in_parallel(jobs, DATA, DATA, tmp_path, processes=0, progress=False)


def test_auto_jobs_is_one_process_per_torch_thread_on_cpu_and_one_on_gpu() -> None:
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        assert auto_jobs(torch.device("cpu")) == 3
        assert auto_jobs(torch.device("cuda", 0)) == 1
        torch.set_num_threads(1)  # OMP_NUM_THREADS=1: one process, trained in this one
        assert auto_jobs(torch.device("cpu")) == 1
    finally:
        torch.set_num_threads(threads)


def test_runner_hands_the_longest_training_jobs_out_first(tmp_path: Path, monkeypatch) -> None:
    # with N processes, a long model started last would run alone at the end; the order is by steps x tokens,
    # IA-ViT counting double
    import yaml
    from support import MICRO_SUITE

    import iabench.pipeline.models as models_stage
    from iabench.cli import main

    order: list[str] = []
    monkeypatch.setattr(models_stage, "train_in_parallel", lambda jobs, *a, **k: order.extend(j.name for j in jobs))
    models = {"short": {"kind": "vit", "train": {"max_steps": 2}}, "fine": {"kind": "vit", "model": {"patch_size": 2}},
              "base": {"kind": "vit"}, "ia": {"kind": "ia-vit", "baseline": "base"}}
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump({**MICRO_SUITE, "models": models, "explainers": ["random"],
                                     "metrics": ["accuracy"], "samples": 4}))
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"),
                 "--quiet", "--device", "cpu", "--jobs", "2", "--no-report"]) == 0
    # fine: 8 steps x 64 tokens; ia: 8 x 16 x 2; base: 8 x 16; short: 2 x 16
    assert order == ["fine/seed0", "ia/seed0", "base/seed0", "short/seed0"]


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from iabench.training.parallel import die_with_parent

def work(path):
    open(path, "w").write(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent) as pool:
        pool.submit(work, sys.argv[1]).result()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_training_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    script, marker = tmp_path / "parent.py", tmp_path / "worker.pid"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the worker never started"
        time.sleep(0.1)
    worker = int(marker.read_text())
    assert _alive(worker)
    parent.kill()  # SIGKILL: no cleanup in the parent at all
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the training worker outlived its killed parent"


LATE_CHILD = """
import os, sys, time
from iabench.training.parallel import die_with_parent

parent = os.getpid()
child = os.fork()
if child == 0:
    time.sleep(1.0)  # the parent is gone by now, as a run killed while its workers still import torch
    die_with_parent(parent)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os._exit(0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_whose_parent_died_before_it_asked_to_die_with_it_exits(tmp_path: Path) -> None:
    """prctl(PR_SET_PDEATHSIG) called after the parent's death never fires: the worker must notice and exit (a run
    killed 15 s after it started once left both training workers running)."""
    printed = subprocess.run([sys.executable, "-c", LATE_CHILD], capture_output=True, text=True, timeout=60)
    worker = int(printed.stdout.split()[0])
    deadline = time.monotonic() + 15
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "a worker started by a dead parent kept running"


def test_parallel_training_logs_progress_lines_from_both_workers_before_they_finish(
        tmp_path: Path, micro_config: ModelConfig, caplog, one_thread) -> None:
    # The workers' lines travel to the parent's log: each model's step lines (step/total, loss, time left)
    # come before its own "trained in" line, which names its test accuracy (and IA-ViT's agreement).
    jobs = [TrainJob("vit/seed0", "vit", micro_config, FAST), TrainJob("ia-vit/seed0", "ia-vit", micro_config, FAST)]
    with caplog.at_level("INFO", logger="iabench"):
        train_in_parallel(jobs, DATA, DATA, tmp_path, processes=2, progress=True)
    lines = [r.getMessage() for r in caplog.records]
    steps = len(load_dataset(DATA).train) // FAST.batch_size
    for name in ("vit/seed0", "ia-vit/seed0"):
        own = [line for line in lines if line.startswith(f"{name}: ")]
        done = next(i for i, line in enumerate(own) if "trained in" in line)
        assert any(f"step {steps}/{steps} (epoch 1/1), loss " in line and "left" in line for line in own[:done])
        assert any("epoch 1/1 done" in line for line in own[:done])
        assert "test accuracy" in own[done] and ("agreement" in own[done]) == (name == "ia-vit/seed0")
