"""Bring your own model: `iabench run --model ARCH --checkpoint FILE` evaluates a timm checkpoint (or an IA-ViT
saved by iabench) with no training; the checkpoints are written by the tests themselves."""

from __future__ import annotations

import logging
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


def timm_vit(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return timm.create_model(ARCH, img_size=16, patch_size=4, in_chans=1, num_classes=10, embed_dim=48, depth=2)


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
                     "--out", str(base / "out"), "--cache-dir", str(base / "cache"), "--device", "cpu"])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert code == 0
    return model, only_run_dir(base / "out"), records, base


def test_the_shape_is_read_off_the_weights() -> None:
    config = ModelConfig(arch=ARCH, **shape_from_state(timm_vit().state_dict()))
    assert (config.img_size, config.patch_size, config.in_chans, config.num_classes) == (16, 4, 1, 10)
    assert (config.embed_dim, config.depth) == (48, 2)


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


def test_a_checkpoint_that_does_not_fit_is_one_line_naming_the_keys(tmp_path, capsys) -> None:
    state = timm_vit().state_dict()
    state.pop("norm.weight")
    state["adapter.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "odd.pth")
    code = main(["run", "--model", ARCH, "--checkpoint", str(tmp_path / "odd.pth"), "--out", str(tmp_path / "o"),
                 "--suite", str(write_suite(tmp_path / "s.yaml")), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert "missing keys norm.weight; unexpected keys adapter.weight" in err
    torch.save(timm_vit().state_dict(), tmp_path / "rgb.pth")
    wide = timm.create_model(ARCH, img_size=16, patch_size=4, in_chans=3, num_classes=10, embed_dim=48, depth=2)
    torch.save(wide.state_dict(), tmp_path / "rgb.pth")
    code = main(["run", "--model", ARCH, "--checkpoint", str(tmp_path / "rgb.pth"), "--out", str(tmp_path / "o"),
                 "--suite", str(write_suite(tmp_path / "s.yaml")), "--quiet"])
    assert code == 2 and "expects 3-channel images, dataset 'synthetic' has 1" in capsys.readouterr().err
    code = main(["run", "--checkpoint", str(tmp_path / "rgb.pth"), "--suite", str(tmp_path / "s.yaml"), "--quiet"])
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
    model, _ = load_given(parse_model("deit3_small_patch16_224", tmp_path / "deit3.pth"))
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
