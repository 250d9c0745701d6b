"""Planted evidence end to end, on tiny Fashion-MNIST files the test writes: both labellings of the same canvases,
the reliance checks, the oracle's known scores through the pipeline (the motif's mask, the garment's, a named mask),
and the model contrast, by hand on run folders whose scores are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from support import write_fmnist

from iabench.cli import main
from iabench.data import DATASETS
from iabench.errors import UserError
from iabench.records import DatasetRecord, ExplainerRecord, MetricRecord
from iabench.reporting.ground_truth.contrast import NO_PAIR, contrast_markdown, model_contrast, recorded_pairing
from iabench.reporting.ground_truth.pairs import contrast_pairs
from iabench.reporting.ground_truth.placement import NO_ROWS as NO_PLACEMENT_ROWS
from iabench.reporting.run_files import RunFiles

SUITE = dict(
    preset="vit-tiny-fmnist", models=["vit"], seeds=[0], samples=4, batch_size=4,
    data=dict(name="evidence-fashion-mnist", img_size=56), model=dict(img_size=56, patch_size=8, embed_dim=16,
                                                                     depth=1, num_heads=2),
    train=dict(max_steps=2, batch_size=16, eval_batch_size=16),
    explainers=["evidence-oracle", "random"],
    metrics=["foreground-mass", "evidence-auc[patch]", {"name": "foreground-mass", "label": "motif-mass",
                                                         "options": {"mask": "motif"}}, "deletion"])


def _run_both(tmp_path: Path) -> tuple[Path, Path]:
    """One command for both labellings, as the `evidence` suite: a suite including the two (the garment one first,
    each with its own data.task), then the model contrast."""
    for task in ("motif", "garment"):
        (tmp_path / f"{task}.yaml").write_text(yaml.safe_dump(dict(SUITE, name=f"gt-{task}")))
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump(dict(include=[{"suite": str(tmp_path / f"{task}.yaml"), "set": [f"data.task={task}"]}
                                                 for task in ("garment", "motif")], contrast=True)))
    out = tmp_path / "out"
    assert main(["run", "--suite", str(both), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet",
                 "--device", "cpu", "--jobs", "1", "--data-root", str(tmp_path / "fm")]) == 0
    return next((out / "gt-motif").iterdir()), next((out / "gt-garment").iterdir())


def test_both_labellings_end_to_end(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm", n_train=60, n_test=12)
    motif, garment = _run_both(tmp_path)
    # the including suite paired its runs: the contrast went into the motif run, with no row (no ground truth yet)
    assert (motif / "contrast.md").read_text().endswith(NO_PAIR + "\n") and not (garment / "contrast.md").exists()
    assert NO_PAIR in (motif / "report.md").read_text()  # each report is built once, after the contrast
    assert json.loads((motif / "manifest.json").read_text())["timings"]["report"] > 0
    reliance = pd.read_csv(motif / "reliance.csv")
    assert reliance.check.tolist() == ["accuracy", "prediction follows a swapped motif",
                                       "predictions changed by a swapped decoy (control)",
                                       "accuracy without the motif (a check of the data)"]
    assert (reliance.images == 12).all() and not reliance.passed.all()  # 2 training steps: no ground truth
    results = {task: pd.read_csv(run / "results.csv") for task, run in (("motif", motif), ("garment", garment))}
    oracle = {task: r[r.explainer == "evidence-oracle"].set_index(["metric", "sample"]).value
              for task, r in results.items()}
    # the oracle's map is the evidence: all its mass on the motif's 18 of 56 x 56 pixels under task motif ...
    np.testing.assert_allclose(oracle["motif"]["foreground-mass"], 56 * 56 / 18, rtol=1e-12)
    np.testing.assert_allclose(oracle["motif"]["motif-mass"], 56 * 56 / 18, rtol=1e-12)
    # ... and on the garment under task garment, which keeps a pixel away from the motif: no mass on the motif
    np.testing.assert_allclose(oracle["garment"]["motif-mass"], 0.0, atol=0)
    assert (oracle["garment"]["foreground-mass"] > 2).all()
    randoms = {task: r[(r.explainer == "random") & (r.metric == "motif-mass")].value.to_numpy()
               for task, r in results.items()}
    np.testing.assert_array_equal(randoms["motif"], randoms["garment"])  # the same canvases, the same noise
    report = (motif / "report.md").read_text()
    assert "## Does each model use its planted evidence?" in report and "0 of 1 models pass every check" in report
    assert not (motif / "truth.csv").exists()  # no model with ground truth: no protocol is judged against it
    assert json.loads((garment / "metrics.json").read_text())["motif-mass"]["mask"] == "motif"
    assert main(["contrast", str(garment), str(garment)]) == 2  # two garment runs: one line, exit 2
    # the contrast by hand (reliance aside: both runs' models are taken to pass): per image, the oracle's mass on the
    # motif under the motif run (56 x 56 / 18) minus under the garment run (0: its map is the garment); a side that
    # read its own run's evidence mass instead would give 56 x 56 / 18 minus the garment's (> 2)
    for run in (motif, garment):
        checks = pd.read_csv(run / "reliance.csv")
        checks.assign(passed=True).to_csv(run / "reliance.csv", index=False)
    assert main(["contrast", str(motif), str(garment)]) == 0
    contrast = pd.read_csv(motif / "contrast.csv").set_index("explainer")
    assert contrast.loc["evidence-oracle", "contrast"] == pytest.approx(56 * 56 / 18, rel=1e-12)
    assert (contrast.loc["evidence-oracle", "unit"], contrast.loc["evidence-oracle", "n"]) == ("image", 4)
    assert contrast.loc["evidence-oracle", "garment_model"] == 0.0
    assert contrast.loc["random", "contrast"] == 0.0  # it ignores the model: the same noise on both sides


def recorded(task: str) -> dict:
    """What a run of evidence-fashion-mnist with this task records of its planted evidence (by hand)."""
    return {"labelling": task, "evidence_mask": task,
            "contrast": {"option": "task", "subject": "motif", "other": "garment", "mask": "motif"}}


def test_the_dataset_declares_what_a_run_records_of_its_planted_evidence() -> None:
    plugin = DATASETS.get("evidence-fashion-mnist")
    for task in ("motif", "garment"):
        assert plugin.ground_truth.record(plugin.Options.parse({"task": task}, "test")) == recorded(task)
    assert DATASETS.get("fashion-mnist").ground_truth is None  # no planted evidence, no reliance checks


def _fake_run(folder: Path, task: str, label: str, scores: dict[tuple[int, str], float],
              failed_seed: int | None = None) -> RunFiles:
    """A run folder with ``label`` (the motif mass) per (seed, explainer), the same on 3 samples but for +0.01*k."""
    folder.mkdir(parents=True)
    rows = [dict(run="r", seed=seed, model="vit", explainer=e, metric=label, sample=k, value=v + 0.01 * k)
            for (seed, e), v in scores.items() for k in range(3)]
    pd.DataFrame(rows).to_csv(folder / "results.csv", index=False)
    mask = "motif" if task == "garment" else None
    (folder / "metrics.json").write_text(json.dumps({label: MetricRecord(name="foreground-mass", family="diagnostics",
                                                                          unit="pixel", mask=mask).to_json()}))
    (folder / "explainers.json").write_text(json.dumps({e: ExplainerRecord(name=e).to_json() for _, e in scores}))
    options = {"task": task, "canvas": 56, "motif_size": 6, "decoys": 2, "placement": "cell", "cell": 8}
    (folder / "manifest.json").write_text(json.dumps(dict(dataset=DatasetRecord(
        name="evidence-fashion-mnist", options=options, ground_truth=recorded(task)).to_json())))
    checks = [dict(model="vit", seed=s, check="accuracy", value=1.0, required="", passed=s != failed_seed, images=3)
              for s in (0, 1, 2)]
    pd.DataFrame(checks).to_csv(folder / "reliance.csv", index=False)
    return RunFiles.read(folder)


def test_model_contrast_by_hand(tmp_path) -> None:
    motif = _fake_run(tmp_path / "m", "motif", "foreground-mass",
                      {(0, "a"): 5.0, (1, "a"): 6.0, (2, "a"): 7.0, (0, "random"): 1.0, (1, "random"): 1.1,
                       (2, "random"): 0.9})
    garment = _fake_run(tmp_path / "g", "garment", "motif-mass",
                        {(0, "a"): 1.0, (1, "a"): 1.0, (2, "a"): 2.0, (0, "random"): 1.0, (1, "random"): 1.1,
                         (2, "random"): 0.9})
    with pytest.raises(UserError, match="wrong order: first the task motif run .* give '.*m' first"):
        model_contrast(garment, motif)
    contrast = model_contrast(motif, garment).set_index("explainer")
    assert contrast.loc["a"].contrast == pytest.approx((4 + 5 + 5) / 3, abs=1e-12) and contrast.loc["a"].unit == "seed"
    assert contrast.loc["random", "contrast"] == 0.0 and contrast.loc["random", "n"] == 3
    assert contrast.loc["a"].motif_model == pytest.approx(6.01, abs=1e-12)
    without = _fake_run(tmp_path / "g2", "garment", "motif-mass", {(s, "a"): 1.0 for s in (0, 1, 2)}, failed_seed=2)
    row = model_contrast(motif, without).iloc[0]  # seed 2 has no ground truth in the garment run: 2 seeds, images
    assert row.unit == "image" and row.n == 6 and row.contrast == pytest.approx(4.5, abs=1e-12)
    none = _fake_run(tmp_path / "g3", "garment", "motif-mass", {(0, "a"): 1.0}, failed_seed=0)
    assert model_contrast(motif, none).empty and contrast_markdown(model_contrast(motif, none), None) == NO_PAIR
    header = contrast_markdown(model_contrast(motif, garment), recorded_pairing(motif)).splitlines()[0]
    assert header == ("| model | explainer | motif mass: motif model | garment model | contrast [95% CI] | p "
                      "| unit (n) |")  # the pairing names the columns: as before for evidence-fashion-mnist
    other = _fake_run(tmp_path / "o", "garment", "motif-mass", {(0, "a"): 1.0})
    (other.path / "manifest.json").write_text(json.dumps(dict(dataset=DatasetRecord(
        name="evidence-fashion-mnist", options={"task": "garment", "canvas": 60},
        ground_truth=recorded("garment")).to_json())))
    with pytest.raises(UserError, match="the two runs' canvases differ"):
        model_contrast(motif, RunFiles.read(other.path))
    # a run written after data.plant existed records it (and that plant: true is how runs before it drew): it pairs
    # with a run recorded without it, unless its canvases carry no motif
    for plant, pairs in ((True, True), (False, False)):
        newer = json.loads((garment.path / "manifest.json").read_text())
        newer["dataset"].update(options_added_later={"plant": True})
        newer["dataset"]["options"]["plant"] = plant
        (other.path / "manifest.json").write_text(json.dumps(newer))
        if pairs:
            assert not model_contrast(motif, RunFiles.read(other.path)).empty
        else:
            with pytest.raises(UserError, match="the two runs' canvases differ"):
                model_contrast(motif, RunFiles.read(other.path))
    foreign = json.loads((garment.path / "manifest.json").read_text())
    foreign["dataset"]["ground_truth"]["contrast"]["mask"] = "garment"  # another dataset's pairing
    (other.path / "manifest.json").write_text(json.dumps(foreign))
    with pytest.raises(UserError, match="record different model contrasts"):
        model_contrast(motif, RunFiles.read(other.path))


def _garment_run(folder: Path) -> Path:
    """A garment run whose model passes reliance, with the four truth scores on its evidence, the motif mass for the
    contrast (mask: motif) and one protocol: explainer a best and c worst under every score, on 3 seeds."""
    folder.mkdir(parents=True)
    labels = {"foreground-mass": ("pixel", None), "foreground-mass[patch]": ("patch", None),
              "evidence-auc": ("pixel", None), "evidence-auc[patch]": ("patch", None), "motif-mass": ("pixel", "motif")}
    quality = {"a": 3.0, "b": 2.0, "c": 1.0, "evidence-oracle": 4.0, "random": 0.5}
    rows = [dict(run="r", seed=s, model="vit", explainer=e, metric=m, sample=k, value=q + 0.01 * k)
            for s in range(3) for e, q in quality.items() for m in [*labels, "deletion"] for k in range(4)]
    frame = pd.DataFrame(rows)
    frame.loc[frame.metric == "deletion", "value"] *= -1  # lower is better: a still best
    frame.to_csv(folder / "results.csv", index=False)
    metrics = {m: MetricRecord(name=m.split("[")[0] if m != "motif-mass" else "foreground-mass", family="localisation",
                               unit=unit, mask=mask).to_json() for m, (unit, mask) in labels.items()}
    metrics["deletion"] = MetricRecord(name="deletion", direction="lower", family="faithfulness", curve=True,
                                       unit="pixel").to_json()
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "explainers.json").write_text(json.dumps({e: ExplainerRecord(
        name=e, family="control" if e in ("evidence-oracle", "random") else "gradient").to_json() for e in quality}))
    options = {"task": "garment", "canvas": 56, "motif_size": 6, "decoys": 2, "placement": "cell", "cell": 8}
    (folder / "manifest.json").write_text(json.dumps(dict(suite="ground-truth-garment", dataset=DatasetRecord(
        name="evidence-fashion-mnist", options=options, ground_truth=recorded("garment")).to_json())))
    pd.DataFrame([dict(model="vit", seed=s, check="accuracy", value=0.9, required="", passed=True, images=4)
                  for s in range(3)]).to_csv(folder / "reliance.csv", index=False)
    return folder


def test_a_garment_run_with_ground_truth_reports_and_refuses_the_wrong_order(tmp_path, capsys) -> None:
    """Its report was a traceback (the motif mass taken for a ground truth, a fifth marker missing from the truth
    figure); the contrast with its runs swapped wrote into the garment run and crashed."""
    garment = _garment_run(tmp_path / "garment")
    assert main(["report", str(garment)]) == 0
    truth = pd.read_csv(garment / "truth.csv")
    assert set(truth.truth) == {"foreground-mass", "evidence-auc"} and (truth.tau == 1.0).all()  # no motif-mass
    motif = _fake_run(tmp_path / "motif", "motif", "foreground-mass", {(s, e): 2.0 for s in range(3) for e in "ab"})
    assert main(["contrast", str(garment), str(motif.path)]) == 2
    assert "wrong order" in capsys.readouterr().err
    assert not (garment / "contrast.csv").exists() and not (motif.path / "contrast.csv").exists()  # nothing written
    assert main(["contrast", str(motif.path), str(garment)]) == 0 and (motif.path / "contrast.csv").exists()
    assert main(["contrast", str(garment), str(garment)]) == 2  # two garment runs: one line, exit 2


def test_the_runs_of_an_including_suite_pair_by_their_canvases(tmp_path) -> None:
    """evidence-study's four runs: each motif run pairs with the garment run of its own placement, whatever the
    order they ran in; a motif run without a garment run of its canvases pairs with none."""
    runs = {}
    for task, placement in (("garment", "anywhere"), ("motif", "cell"), ("motif", "anywhere"), ("garment", "cell"),
                            ("motif", "other")):
        label = "foreground-mass" if task == "motif" else "motif-mass"
        run = _fake_run(tmp_path / f"{task}-{placement}", task, label, {(0, "a"): 1.0})
        manifest = json.loads((run.path / "manifest.json").read_text())
        manifest["dataset"]["options"]["placement"] = placement
        (run.path / "manifest.json").write_text(json.dumps(manifest))
        runs[task, placement] = RunFiles.read(run.path)
    pairs = contrast_pairs(list(runs.values()))
    assert [(s.path.name, o.path.name) for s, o in pairs] == [("motif-cell", "garment-cell"),
                                                              ("motif-anywhere", "garment-anywhere")]


def test_straddling_evidence_starts_from_the_aligned_model_and_reports_the_change(tmp_path, no_system_fmnist) -> None:
    """As `evidence-placement`: the motif task under placement cell, then under anywhere warm-started from the cell
    run's cached model; the including suite writes placement.md into the straddling run and its report."""
    write_fmnist(tmp_path / "fm", n_train=60, n_test=12)
    (tmp_path / "motif.yaml").write_text(yaml.safe_dump(dict(SUITE, name="gt-motif")))
    both = tmp_path / "both.yaml"
    warm = {"data.placement": "anywhere", "train.max_steps": 3,
            "train.warm_start": ["data.placement=cell", "train.max_steps=2"]}
    both.write_text(yaml.safe_dump(dict(include=[str(tmp_path / "motif.yaml"),
                                                 {"suite": str(tmp_path / "motif.yaml"), "set": warm}],
                                        contrast=True)))
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["run", "--suite", str(both), "--out", str(out), "--cache-dir", str(cache), "--device", "cpu",
                 "--jobs", "1", "--data-root", str(tmp_path / "fm")]) == 0
    runs = {json.loads((run / "manifest.json").read_text())["dataset"]["options"]["placement"]: run
            for run in (out / "gt-motif").iterdir()}
    assert sorted(runs) == ["anywhere", "cell"] and len(list((cache / "models").iterdir())) == 2  # source reused
    log = (runs["anywhere"] / "run.log").read_text()
    assert "starts from vit-" in log and "(data.placement=cell, train.max_steps=2)" in log
    assert (runs["anywhere"] / "placement.md").read_text().strip().endswith(NO_PLACEMENT_ROWS)  # 2 steps: no truth
    assert not (runs["cell"] / "placement.md").exists()
    assert "What changes when the evidence straddles patches?" in (runs["anywhere"] / "report.md").read_text()


def test_the_maps_shown_come_with_their_masks_when_only_the_figures_need_them(tmp_path, no_system_fmnist) -> None:
    """A run whose scores are stored but whose explanation cache is gone explains its first images again for
    heatmaps.npz: the oracle got no masks there, failed, and its NaN map was cached for every later run."""
    write_fmnist(tmp_path / "fm", n_train=60, n_test=12)
    suite = tmp_path / "motif.yaml"
    suite.write_text(yaml.safe_dump(dict(SUITE, name="gt-motif")))
    args = ["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--quiet", "--device", "cpu", "--jobs", "1", "--data-root", str(tmp_path / "fm")]
    assert main(args) == 0
    for path in (tmp_path / "cache" / "explanations").iterdir():
        path.unlink()
    assert main(args) == 0  # every score stored: only the figures' maps are computed
    run = next((tmp_path / "out" / "gt-motif").iterdir())
    maps = np.load(run / "heatmaps.npz")
    oracle = maps["vit__evidence-oracle"]
    assert np.isfinite(oracle).all() and ((oracle == 0) | (oracle == 1)).all() and oracle.sum() > 0
    assert "evidence-oracle on vit failed" not in (run / "run.log").read_text()
    cached = [torch.load(p, weights_only=True) for p in (tmp_path / "cache" / "explanations").iterdir()]
    assert cached and all(torch.isfinite(c).all() for c in cached)
