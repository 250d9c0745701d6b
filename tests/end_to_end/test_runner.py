"""The main job end to end on a micro suite: outputs, caching, determinism, resume after SIGKILL,
failed explanations, and bad input that must leave earlier results intact."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import timm
import torch
from support import MICRO_SUITE, only_run_dir, write_suite

from iabench.cli import main


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    _, err = capsys.readouterr()
    return code, err




@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("run")
    suite = write_suite(base / "micro.yaml")
    # One process of one thread, whatever OMP_NUM_THREADS says: the runs below (resumed, or two processes of one
    # thread each) are compared with this one byte for byte, which holds for the same path and thread count only
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["run", "--suite", str(suite), "--out", str(base / "out"), "--cache-dir", str(base / "cache"),
                     "--quiet", "--device", "cpu", "--jobs", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    return only_run_dir(base / "out")


def cache_of(run_dir: Path) -> str:
    return str(run_dir.parents[2] / "cache")


def test_outputs_exist_and_are_complete(finished_run: Path) -> None:
    for name in ("results.csv", "curves.csv", "summary.csv", "summary.tex", "significance.csv", "report.md",
                 "report.html", "manifest.json", "metrics.json", "explainers.json", "training.csv", "heatmaps.npz"):
        assert (finished_run / name).is_file(), name
    results = pd.read_csv(finished_run / "results.csv")
    # vit: 2 explainers x 2 saliency metrics + accuracy; ia-vit: 3 x 2 + accuracy + agreement (with its
    # agreement-kl and agreement-inter-accuracy companions); 12 samples each
    per_sample = (2 * 2 + 1) + (3 * 2 + 1 + 3)
    assert len(results) == per_sample * 12
    assert not results.duplicated(["seed", "model", "explainer", "metric", "sample"]).any()
    assert set(results.explainer) == {"ia-vit", "attention", "random", "-"}
    assert set(results.model) == {"vit", "ia-vit"}  # extras (agreement-kl, ...) carry their model's name
    assert set(results[results.metric == "agreement-kl"].model) == {"ia-vit"}
    assert results.loc[results.metric.isin(["insertion", "deletion"]), "value"].between(0, 1).all()
    assert len(pd.read_csv(finished_run / "curves.csv")) > 0
    manifest = json.loads((finished_run / "manifest.json").read_text())
    assert manifest["samples"] == 12 and manifest["device"] == "cpu"
    assert {"data", "train", "explain+score", "report"} <= set(manifest["timings"])
    assert list((finished_run / "plots").glob("*.png"))


def test_each_models_per_image_test_correctness_is_stored_and_decides_claim_iii(finished_run: Path) -> None:
    from iabench.reporting.run_files import read_correctness

    models = json.loads((finished_run / "models.json").read_text())
    correctness = read_correctness(finished_run / "test_correctness.npz")
    assert set(correctness) == set(models) == {"vit", "ia-vit"}
    for name, info in models.items():
        for seed, metrics in info["seeds"].items():
            right = correctness[name].loc[int(seed)]
            assert len(right) == metrics["test_images"] and right.index.is_unique
            assert right.sum() / len(right) == metrics["test_acc"]  # the same count over the same images
    third = pd.read_csv(finished_run / "verdict.csv").query("claim == 'iii'").iloc[0]
    assert third.comparison.startswith("ia-vit vs vit: per-image correctness on the ") and third.unit == "image"
    gap = models["ia-vit"]["seeds"]["0"]["test_acc"] - models["vit"]["seeds"]["0"]["test_acc"]
    assert third.effect == pytest.approx(gap, abs=1e-12) and third.n == models["vit"]["seeds"]["0"]["test_images"]


def test_run_files_carry_the_classes_descriptions(finished_run: Path) -> None:
    from iabench.baselines import EXPLAINERS
    from iabench.metrics import METRICS

    metrics = json.loads((finished_run / "metrics.json").read_text())
    agreement = METRICS.get("agreement")
    for label in ("insertion", "deletion", "accuracy", "agreement"):
        cls = METRICS.get(label)
        assert {"name", "direction", "display_name", "reference", "auc", "substrate"} <= set(metrics[label])
        assert (metrics[label]["description"], metrics[label]["family"]) == (cls.description, cls.family)
        assert metrics[label]["needs_ia_vit"] is cls.needs.ia_vit
    # the extras: their own direction and description, their metric's family and name
    kl, inter = metrics["agreement-kl"], metrics["agreement-inter-accuracy"]
    assert (kl["direction"], kl["description"]) == agreement.extras["kl"]
    assert kl["direction"] == "lower" and kl["description"].startswith("KL(predictor || interpreter)")
    assert (inter["direction"], inter["description"]) == agreement.extras["inter-accuracy"]
    assert metrics["agreement"]["description"] not in (kl["description"], inter["description"])
    assert kl["family"] == inter["family"] == "agreement" and kl["name"] == "agreement" and kl["needs_ia_vit"]
    explainers = json.loads((finished_run / "explainers.json").read_text())
    assert set(explainers) == {"ia-vit", "attention", "random"}
    for label, info in explainers.items():
        cls = EXPLAINERS.get(label)
        assert {"name", "display_name", "family", "reference", "baseline"} <= set(info)
        assert (info["description"], info["signed"]) == (cls.description, cls.signed)


def test_the_run_log_holds_the_training_lines_even_when_quiet(finished_run: Path) -> None:
    # --quiet silences the terminal, not the log file: each model's last step, then its accuracies, time-stamped
    log = (finished_run / "run.log").read_text()
    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
    for name in ("vit/seed0", "ia-vit/seed0"):
        assert re.search(stamp + re.escape(name) + r": step (\d+)/\1 \(epoch \d+/\d+\), loss \d\.\d{4}, ", log, re.M)
        assert re.search(stamp + re.escape(name) + r": trained in \d+ s, test accuracy \d+\.\d\d %", log, re.M)


def test_second_run_reuses_everything(finished_run: Path, capsys) -> None:
    suite = write_suite(finished_run.parent.parent.parent / "micro.yaml")
    before = (finished_run / "results.csv").read_bytes()
    code, _ = run(capsys, "run", "--suite", str(suite), "--out", str(finished_run.parent.parent), "--quiet",
                  "--device", "cpu", "--cache-dir", cache_of(finished_run))
    assert code == 0
    assert (finished_run / "results.csv").read_bytes() == before
    manifest = json.loads((finished_run / "manifest.json").read_text())
    assert all(model["cached"] for model in manifest["models"].values())
    log = (finished_run / "run.log").read_text()  # appended to by the second run: it names each model it loaded
    for name in ("vit/seed0", "ia-vit/seed0"):
        assert re.search(r" " + re.escape(name) + r": loaded from the checkpoint cache \(.*\.pt\)$", log, re.M)


def test_report_rebuilds_from_stored_results(finished_run: Path, capsys) -> None:
    summary = finished_run / "summary.csv"
    before = summary.read_bytes()
    summary.unlink()
    code, _ = run(capsys, "report", str(finished_run))
    assert code == 0 and summary.read_bytes() == before


def test_same_seed_same_results_files_also_with_parallel_training(tmp_path, finished_run: Path, capsys,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("IABENCH_CACHE", str(tmp_path / "fresh-cache"))  # retrain and re-explain from nothing
    suite = write_suite(tmp_path / "micro.yaml")
    # --jobs 2: both models trained at once in two processes; the results must be those of the sequential run
    code, _ = run(capsys, "run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--quiet", "--device", "cpu",
                  "--jobs", "2")
    assert code == 0
    again = only_run_dir(tmp_path / "out")
    for name in ("results.csv", "curves.csv", "summary.csv"):
        assert (again / name).read_bytes() == (finished_run / name).read_bytes(), name


def test_resume_after_sigkill_matches_uninterrupted(tmp_path, finished_run: Path) -> None:
    suite = write_suite(tmp_path / "micro.yaml")
    out = tmp_path / "out"
    env = dict(os.environ, IABENCH_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    # one process of one thread, as finished_run (local processes write part files that reach results.csv at the end)
    command = [sys.executable, "-m", "iabench", "run", "--suite", str(suite), "--out", str(out), "--quiet",
               "--device", "cpu", "--jobs", "1", "--no-report"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    results = None
    while time.time() < deadline and process.poll() is None:
        found = list(out.glob("*/*/results.csv"))
        if found and found[0].read_text().count("\n") > 20:  # killed mid-way through scoring
            results = found[0]
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert results is not None, "the run finished before it could be killed; make the suite longer"
    assert results.read_text().count("\n") < 12 * 13  # it really was incomplete
    resumed = subprocess.run(command[:-1] + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run_dir = results.parent
    for name in ("results.csv", "curves.csv", "summary.csv"):
        assert (run_dir / name).read_bytes() == (finished_run / name).read_bytes(), name


def test_nan_explainer_is_recorded_not_fatal(tmp_path, capsys, monkeypatch) -> None:
    from iabench.baselines import EXPLAINERS, Explainer

    class NaNExplainer(Explainer):
        name = "nan-test"
        family = "control"

        def _attribute(self, inputs, target):
            out = torch.rand(inputs.shape[0], *inputs.shape[-2:])
            out[0] = float("nan")  # the first image of each chunk fails
            return out

    monkeypatch.setitem(EXPLAINERS._entries, "nan-test", NaNExplainer)
    suite = write_suite(tmp_path / "micro.yaml", explainers=["nan-test", "random"], models=["vit"])
    code, err = run(capsys, "run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--quiet", "--device", "cpu")
    assert code == 0, err
    run_dir = only_run_dir(tmp_path / "out")
    failures = pd.read_csv(run_dir / "failures.csv")
    assert len(failures) == 3 and set(failures.explainer) == {"nan-test"}  # 12 samples in chunks of 4
    results = pd.read_csv(run_dir / "results.csv")
    nan_rows = results[(results.explainer == "nan-test") & results.value.isna()]
    assert sorted(nan_rows["sample"].unique()) == sorted(failures["sample"])
    summary = pd.read_csv(run_dir / "summary.csv")
    row = summary[(summary.explainer == "nan-test") & (summary.metric == "deletion")].iloc[0]
    assert row["n"] == 9


def assert_one_line(code: int, err: str, fragment: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err


def test_bad_input_leaves_earlier_results_intact(tmp_path, finished_run: Path, capsys, monkeypatch) -> None:
    out = finished_run.parent.parent
    suite = write_suite(tmp_path / "micro.yaml")
    snapshot = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    # no samples at all
    code, err = run(capsys, "run", "--suite", str(suite), "--out", str(out), "--samples", "0", "--quiet")
    assert_one_line(code, err, "--samples")
    # missing dataset
    import iabench.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nothing-here")
    fmnist_suite = write_suite(tmp_path / "fmnist.yaml", data={"name": "fashion-mnist", "img_size": 16})
    (tmp_path / "empty").mkdir()  # a folder without the files (a missing folder is refused sooner: test_startup.py)
    code, err = run(capsys, "run", "--suite", str(fmnist_suite), "--out", str(out), "--data-root",
                    str(tmp_path / "empty"), "--quiet")
    assert_one_line(code, err, "apt-get install -y dataset-fashion-mnist")
    # unwritable output directory (a path under a regular file)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run(capsys, "run", "--suite", str(suite), "--out", str(blocker / "out"), "--quiet")
    assert_one_line(code, err, "cannot write to")
    # a corrupted cached checkpoint, in the same run directory with --fresh
    checkpoints = sorted(Path(cache_of(finished_run)).glob("models/vit-*.pt"))
    assert checkpoints
    original = checkpoints[0].read_bytes()
    try:
        checkpoints[0].write_bytes(original[:1000])
        code, err = run(capsys, "run", "--suite", str(suite), "--out", str(out), "--fresh", "--quiet",
                        "--cache-dir", cache_of(finished_run))
        assert_one_line(code, err, "corrupted or not an iabench checkpoint")
    finally:
        checkpoints[0].write_bytes(original)
    after = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    log_before, log_after = snapshot.pop("run.log"), after.pop("run.log")
    assert after == snapshot
    assert log_after.startswith(log_before)  # the log only gained the failed attempt's plan line


def test_paper_suite_wiring_with_a_tiny_stand_in(tmp_path, capsys) -> None:
    # The paper's suite (ViT-B/16 family, 224px, CIFAR-10, pretrained weights) with a stand-in that fits a
    # CPU test: the same timm architecture name, shrunk; synthetic 3-channel data; weights from a local
    # checkpoint file saved here and loaded through timm's pretrained path.
    source = timm.create_model("vit_base_patch16_224", img_size=32, patch_size=8, in_chans=3, num_classes=10,
                               embed_dim=32, depth=1, num_heads=2)
    weights = tmp_path / "standin.pth"
    torch.save(source.state_dict(), weights)
    args = ["run", "--suite", "paper", "--out", str(tmp_path / "out"), "--samples", "4", "--quiet", "--device", "cpu",
            "--pretrained", str(weights)]
    for override in ("data.name=synthetic", "data.channels=3", "data.img_size=32", "data.limit_train=64",
                     "model.img_size=32", "model.patch_size=8", "model.embed_dim=32", "model.depth=1",
                     "model.num_heads=2", "train.max_steps=2", "train.batch_size=16", "batch_size=4",
                     "explainers=[ia-vit,attention,random]"):
        args += ["--set", override]
    code, err = run(capsys, *args)
    assert code == 0, err
    run_dir = only_run_dir(tmp_path / "out")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["model"]["arch"] == "vit_base_patch16_224.augreg_in21k"
    assert manifest["config"]["model"]["pretrained"] == str(weights)
    metrics = set(pd.read_csv(run_dir / "results.csv").metric)
    assert {"insertion", "deletion", "insertion-mean", "deletion-mean"} <= metrics


def test_rerun_after_the_model_is_fitted_to_the_dataset(tmp_path, capsys) -> None:
    # The preset says 10 classes, the data has 10 but 3 channels: the runner fits in_chans to the data.
    # The run folder must still be recognised as the same configuration on the next run.
    suite = write_suite(tmp_path / "micro.yaml", data={**MICRO_SUITE["data"], "channels": 3},
                        explainers=["random"], metrics=["accuracy", "deletion"], models=["vit"], samples=4)
    args = ["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--quiet", "--device", "cpu", "--no-report"]
    assert run(capsys, *args)[0] == 0
    code, err = run(capsys, *args)
    assert code == 0, err
    manifest = json.loads((only_run_dir(tmp_path / "out") / "manifest.json").read_text())
    assert manifest["config"]["model"]["in_chans"] == 3


def test_masks_and_explain_fn_metrics_through_the_runner(tmp_path, capsys) -> None:
    # Localisation metrics get the dataset's masks; sanity metrics re-explain through the explain function.
    suite = write_suite(tmp_path / "micro.yaml", models=["ia-vit"], samples=4, explainers=["ia-vit", "saliency"],
                        metrics=["pointing-game", "relevance-mass-accuracy", "mprt", "random-logit", "sparseness"])
    code, err = run(capsys, "run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--cache-dir",
                    str(tmp_path / "cache"), "--quiet", "--device", "cpu")
    assert code == 0, err
    results = pd.read_csv(only_run_dir(tmp_path / "out") / "results.csv")
    assert len(results) == 2 * 5 * 4 and results.value.notna().all()
    mass = results[results.metric == "relevance-mass-accuracy"].value
    assert mass.between(0, 1).all()


def test_localisation_metric_on_data_without_masks_is_a_user_error(tmp_path, capsys) -> None:
    from support import write_fmnist

    write_fmnist(tmp_path / "fm")  # a tiny Fashion-MNIST in the real IDX format: no masks
    suite = write_suite(tmp_path / "micro.yaml", data={"name": "fashion-mnist", "img_size": 28},
                        model={"img_size": 28}, metrics=["pointing-game"])
    code, err = run(capsys, "run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--quiet",
                    "--data-root", str(tmp_path / "fm"))
    assert_one_line(code, err, "has no ground-truth masks")
