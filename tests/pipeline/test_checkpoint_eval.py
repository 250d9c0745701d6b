"""Bring your own model: `iabench run --model ARCH --checkpoint FILE` evaluates a timm checkpoint (or an IA-ViT
saved by iabench) with no training; the checkpoints are written by the tests themselves."""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
import timm
import torch
from support import only_run_dir, write_suite

from iabench.cli import main
from iabench.config import DataConfig, ModelConfig, TrainConfig
from iabench.data import load_dataset
from iabench.models import create_model
from iabench.models.families import parse_model
from iabench.models.families.timm_vit import shape_from_state
from iabench.pipeline.samples import select_samples
from iabench.training.checkpoint import save_checkpoint

ARCH = "vit_tiny_patch16_224"
DATA = dict(name="synthetic", img_size=16, limit_train=256)


def timm_vit(seed: int = 0, in_chans: int = 1) -> torch.nn.Module:
    """Width 32, 2 heads: not vit_tiny's 192 and 3, so the heads must be given (--set model.num_heads=2)."""
    torch.manual_seed(seed)
    return timm.create_model(ARCH, img_size=16, patch_size=4, in_chans=in_chans, num_classes=10, embed_dim=32,
                             depth=2, num_heads=2)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("byo")
    model = timm_vit().eval()
    torch.save({"state_dict": model.state_dict(), "epoch": 7}, base / "fine-tuned.pth")  # a training script's file
    suite = write_suite(base / "micro.yaml")
    logger = logging.getLogger("iabench")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # pytest's own root handler keeps the root at WARNING
    try:
        code = main(["run", "--suite", str(suite), "--model", ARCH, "--checkpoint", str(base / "fine-tuned.pth"),
                     "--out", str(base / "out"), "--cache-dir", str(base / "cache"), "--device", "cpu",
                     "--set", "model.num_heads=2"])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert code == 0
    return model, only_run_dir(base / "out"), records, base


def test_the_shape_is_read_off_the_weights() -> None:
    config = ModelConfig(arch=ARCH, **shape_from_state(timm_vit().state_dict()))
    assert (config.img_size, config.patch_size, config.in_chans, config.num_classes) == (16, 4, 1, 10)
    assert (config.embed_dim, config.depth) == (32, 2)


def test_no_training_and_the_skips_are_said_once(evaluated) -> None:
    _, run_dir, records, base = evaluated
    assert any(f"loaded from {base / 'fine-tuned.pth'} (no training)" in r for r in records)
    assert [r for r in records if "skipped" in r] == [f"skipped on {ARCH} (they need an IA-ViT): ia-vit, agreement"]
    assert not any("epoch" in r for r in records) and not (run_dir / "training.csv").exists()
    assert not list((base / "cache").glob("models/*"))  # nothing trained, nothing cached as a model


def test_scores_are_those_of_the_given_weights(evaluated) -> None:
    model, run_dir, _, _ = evaluated
    results = pd.read_csv(run_dir / "results.csv")
    assert set(results.model) == {ARCH} and set(results.explainer) == {"-", "attention", "random"}
    assert set(results.metric) == {"insertion", "deletion", "accuracy"}  # agreement needs an IA-ViT
    data = load_dataset(DataConfig(**DATA))
    samples = select_samples(data, "test", 12, 0)
    with torch.no_grad():
        correct = (model(samples.images).argmax(1) == samples.labels).float().numpy()
    accuracy = results[results.metric == "accuracy"].sort_values("sample")
    assert accuracy["sample"].tolist() == samples.indices and accuracy.value.tolist() == correct.tolist()


def test_the_report_marks_what_does_not_apply(evaluated) -> None:
    _, run_dir, _, _ = evaluated
    report = (run_dir / "report.md").read_text()
    assert f"| {ARCH} | n/a: IA-ViT only | n/a: IA-ViT only | n/a: IA-ViT only |" in report


def test_the_manifest_and_the_words_fit_the_model(evaluated) -> None:
    """The family and every library that made the maps in the manifest; no interpreter wording without an IA-ViT
    (the headline's controls are the patch grid's; no significance section, whose comparisons are the IA-ViT's)."""
    _, run_dir, _, _ = evaluated
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["models"][f"{ARCH}/seed0"]["family"] == "timm"
    for package in ("torch", "torchvision", "timm", "transformers", "captum", "quantus"):
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:  # transformers without the hf extra
            installed = "not installed"
        assert manifest["versions"][package] == installed
    report = (run_dir / "report.md").read_text()
    said = report[report.index("## What it says"):report.index("<details>")]
    assert "interpreter" not in said and "the patch grid's matched controls" in said
    assert "## Significance" not in report


def test_a_checkpoint_that_does_not_fit_is_one_line_naming_the_keys(tmp_path, capsys) -> None:
    state = timm_vit().state_dict()
    state.pop("norm.weight")
    state["adapter.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "odd.pth")
    code = main(["run", "--model", ARCH, "--checkpoint", str(tmp_path / "odd.pth"), "--out", str(tmp_path / "o"),
                 "--suite", str(write_suite(tmp_path / "s.yaml")), "--quiet", "--set", "model.num_heads=2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert "missing keys norm.weight; unexpected keys adapter.weight" in err
    torch.save(timm_vit(in_chans=1).state_dict(), tmp_path / "grey.pth")  # a 1-channel model on 3-channel data
    code = main(["run", "--model", ARCH, "--checkpoint", str(tmp_path / "grey.pth"), "--out", str(tmp_path / "o"),
                 "--suite", str(write_suite(tmp_path / "s.yaml")), "--quiet", "--set", "model.num_heads=2",
                 "--set", "data.channels=3"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"{ARCH} takes 1-channel images, dataset 'synthetic' has 3; pick a 1-channel dataset" in err
    assert not (tmp_path / "o").exists()  # refused before any folder was made
    code = main(["run", "--checkpoint", str(tmp_path / "grey.pth"), "--suite", str(tmp_path / "s.yaml"), "--quiet"])
    assert code == 2 and "--checkpoint needs --model" in capsys.readouterr().err


def test_an_ia_vit_saved_by_iabench(tmp_path: Path) -> None:
    config = ModelConfig(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2)
    torch.manual_seed(0)
    model = create_model("ia-vit", config)
    save_checkpoint(tmp_path / "ia.pt", model, "ia-vit", config, TrainConfig(), DataConfig(**DATA), {}, [])
    suite = write_suite(tmp_path / "s.yaml")
    assert main(["run", "--suite", str(suite), "--model", f"ia-vit:{config.arch}", "--checkpoint",
                 str(tmp_path / "ia.pt"), "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"),
                 "--quiet", "--no-report", "--device", "cpu"]) == 0
    results = pd.read_csv(only_run_dir(tmp_path / "o") / "results.csv")
    assert set(results.model) == {f"ia-vit-{config.arch}"} and "ia-vit" in set(results.explainer)
    assert {"agreement", "agreement-kl"} <= set(results.metric)


def test_a_position_embedding_without_the_class_token(tmp_path) -> None:
    from iabench.pipeline.given import load_given

    deit3 = timm.create_model("deit3_small_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=10,
                              embed_dim=48, depth=2, num_heads=3)  # DeiT III: pos_embed holds the 16 patches only
    shape = shape_from_state(deit3.state_dict())
    assert (shape["img_size"], shape["patch_size"]) == (16, 4)
    torch.save(deit3.state_dict(), tmp_path / "deit3.pth")
    model, _ = load_given(parse_model("deit3_small_patch16_224", tmp_path / "deit3.pth").with_heads(3))
    images = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(images), deit3.eval()(images))


def test_which_methods_apply_to_which_model() -> None:
    from iabench.baselines import EXPLAINERS
    from iabench.metrics import METRICS
    from iabench.pipeline.plan import applies

    assert applies(EXPLAINERS.get("ia-vit"), "ia-vit") and not applies(EXPLAINERS.get("ia-vit"), "vit")
    assert applies(METRICS.get("agreement"), "ia-vit") and not applies(METRICS.get("agreement"), "vit")
    assert applies(EXPLAINERS.get("rollout"), "vit") and applies(METRICS.get("deletion"), "vit")


def _image_tree(root: Path) -> None:
    from PIL import Image

    for c, cls in enumerate(("a", "b", "c")):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 20), (40 * c + 10 * i, 90, 10 * i)).save(root / cls / f"{i}.png")


def test_own_images_are_evaluated_whole_and_a_bad_file_is_one_line(tmp_path: Path, capsys) -> None:
    # a 3-class timm checkpoint on a folder of 9 images: all 9 are evaluated (none held back for training),
    # --samples above that is clamped with one log line; a file PIL cannot read stops the run before any work
    torch.manual_seed(0)
    model = timm.create_model(ARCH, img_size=16, patch_size=4, in_chans=3, num_classes=3, embed_dim=48, depth=2)
    torch.save(model.state_dict(), tmp_path / "mine.pth")
    _image_tree(tmp_path / "imgs")
    suite = write_suite(tmp_path / "micro.yaml", explainers=["attention"], metrics=["deletion"])
    args = ["run", "--suite", str(suite), "--model", ARCH, "--checkpoint", str(tmp_path / "mine.pth"),
            "--data-root", str(tmp_path / "imgs"), "--set", "data.name=imagefolder", "--samples", "20",
            "--set", "model.num_heads=3",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--quiet"]
    assert main(args) == 0
    run_dir = only_run_dir(tmp_path / "out")
    results = pd.read_csv(run_dir / "results.csv")
    assert sorted(results["sample"].unique()) == list(range(9))
    assert "--samples 20: the test split holds 9 images; evaluating all 9" in (run_dir / "run.log").read_text()
    capsys.readouterr()
    (tmp_path / "imgs" / "b" / "bad.png").write_bytes(b"notapng")
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "imgs/b/bad.png' is not a readable image" in err[0] and "remove or replace" in err[0]


def _logits_gap(model: torch.nn.Module, reference: torch.nn.Module) -> float:
    images = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return float((model(images) - reference.eval()(images)).abs().max())


def test_a_narrow_checkpoint_loads_with_its_heads_or_is_refused(tmp_path: Path, capsys) -> None:
    import iabench

    reference = timm_vit(seed=4)
    torch.save(reference.state_dict(), tmp_path / "narrow.pth")
    model = iabench.load_model(ARCH, tmp_path / "narrow.pth", num_heads=2)
    assert model.blocks[0].attn.num_heads == 2 and _logits_gap(model, reference) <= 1e-6
    one_head = iabench.load_model(ARCH, tmp_path / "narrow.pth", num_heads=1)  # loads: the weights fit any count
    assert _logits_gap(one_head, reference) > 1e-4  # which is why the count must be said, never guessed
    suite = str(write_suite(tmp_path / "s.yaml"))
    # heads not given, where the width is neither vit_tiny's nor vit_large's (whose 16 heads would divide 32 and
    # gave wrong logits silently); heads that do not divide the width; another model.KEY than the heads
    cases = (("vit_tiny_patch16_224", []), ("vit_large_patch16_224", []), (ARCH, ["--set", "model.num_heads=3"]),
             (ARCH, ["--set", "model.embed_dim=32"]))
    for i, (arch, heads) in enumerate(cases):
        out = tmp_path / f"out-{i}"
        code = main(["run", "--model", arch, "--checkpoint", str(tmp_path / "narrow.pth"), "--out", str(out),
                     "--suite", suite, "--quiet", *heads])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "\n" not in err and "Traceback" not in err, err
        assert "model.num_heads" in err and not out.exists(), err
    large = main_error(tmp_path, suite, "vit_large_patch16_224", capsys)
    assert "width is 32, vit_large_patch16_224's is 1024" in large


def main_error(tmp_path: Path, suite: str, arch: str, capsys) -> str:
    main(["run", "--model", arch, "--checkpoint", str(tmp_path / "narrow.pth"), "--out", str(tmp_path / "x"),
          "--suite", suite, "--quiet"])
    return capsys.readouterr().err


def test_a_checkpoint_of_archs_own_width_takes_archs_heads_and_says_so(tmp_path: Path, caplog) -> None:
    from iabench.pipeline.given import load_given

    torch.manual_seed(5)
    reference = timm.create_model(ARCH, img_size=16, patch_size=4, in_chans=1, num_classes=10, depth=1)  # 192, 3
    torch.save(reference.state_dict(), tmp_path / "own.pth")
    with caplog.at_level(logging.INFO, logger="iabench"):
        model, config = load_given(parse_model(ARCH, tmp_path / "own.pth"))
    assert config.num_heads == 3 and _logits_gap(model, reference) <= 1e-6
    assert [r.getMessage() for r in caplog.records if "heads" in r.getMessage()] == [
        f"model {ARCH}: 3 heads, {ARCH}'s (the checkpoint's width 192 is its own; --set model.num_heads=N to say "
        "otherwise)"]


def test_the_size_is_the_models_said_once_and_another_is_refused(tmp_path: Path, capsys, caplog) -> None:
    torch.save(timm_vit(seed=6).state_dict(), tmp_path / "narrow.pth")
    suite = str(write_suite(tmp_path / "s.yaml", data={**DATA, "img_size": 20}, samples=2,
                            explainers=["random"], metrics=["accuracy"]))
    base = ["run", "--model", ARCH, "--checkpoint", str(tmp_path / "narrow.pth"), "--suite", suite, "--quiet",
            "--set", "model.num_heads=2", "--cache-dir", str(tmp_path / "cache")]
    with caplog.at_level(logging.INFO, logger="iabench"):
        assert main([*base, "--out", str(tmp_path / "ok")]) == 0
    assert [r.getMessage() for r in caplog.records if "resized" in r.getMessage()] == [
        f"images resized to 16 px, the size {ARCH} takes (the suite's data.img_size is 20)"]
    assert main([*base, "--out", str(tmp_path / "no"), "--set", "data.img_size=24"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"data.img_size=24, but {ARCH} takes 16 px images (its position table): leave data.img_size "
                        "out, the images are resized to its size") and "\n" not in err
    assert not (tmp_path / "no").exists()
    assert main([*base, "--out", str(tmp_path / "same"), "--set", "data.img_size=16"]) == 0  # its own size: applied
