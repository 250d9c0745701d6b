"""Bad input: one line on stderr, exit code 2, no traceback; --help explains."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iabench.cli import main
from iabench.suites import load_suite, suite_names


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("iabench: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_and_version() -> None:
    result = subprocess.run([sys.executable, "-m", "iabench", "run", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in ("--suite", "--samples", "--device", "--out", "--set", "--resume", "--seed"):
        assert option in result.stdout
    version = subprocess.run([sys.executable, "-m", "iabench", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("iabench ")


def test_unknown_suite(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--suite", "faithfulnes")
    assert_one_line_error(code, err, "unknown suite 'faithfulnes'", "did you mean 'faithfulness'")


def test_unknown_flag(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--bogus")
    assert_one_line_error(code, err, "--bogus")


def test_unknown_preset(capsys) -> None:
    code, _, err = run_cli(capsys, "train", "--preset", "vit-tiny")
    assert_one_line_error(code, err, "unknown preset 'vit-tiny'", "vit-tiny-fmnist")


def test_invalid_yaml(tmp_path, capsys) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("models: [vit, ia-vit\nexplainers: {\n")
    code, _, err = run_cli(capsys, "run", "--suite", str(path))
    assert_one_line_error(code, err, "not valid YAML", "line")


def test_unknown_key_names_closest(tmp_path, capsys) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("sampels: 10\nmetrics: [accuracy]\n")
    code, _, err = run_cli(capsys, "run", "--suite", str(path))
    assert_one_line_error(code, err, "sampels", "did you mean 'samples'")


@pytest.mark.parametrize("override,fragment", [
    ("train.epochs=many", "train.epochs must be an integer"),
    ("train.lr=fast", "train.lr must be a float"),
    ("data.augment=3", "data.augment must be true or false"),
    ("train.epohs=3", "did you mean 'train.epochs'"),
    ("samples=0", "samples must be at least 1"),
    ("seeds=1", "'seeds' must be a non-empty list"),
    ("model.img_size=30", "model.patch_size = 4 does not divide model.img_size = 30"),
    ("target=truth", "target must be 'label' or 'predicted'"),
])
def test_wrong_values(override: str, fragment: str, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--set", override)
    assert_one_line_error(code, err, fragment)


@pytest.mark.parametrize("override,fragment", [
    ("model.patch_size=0", "model.patch_size = 0 is out of range; it must be >= 1"),
    ("model.patch_size=3", "model.patch_size = 3 does not divide model.img_size = 28"),
    ("model.num_heads=3", "model.num_heads = 3 does not divide model.embed_dim = 64"),
    ("model.drop_rate=1", "model.drop_rate = 1.0 is out of range; it must be in [0, 1)"),
    ("train.lr=0", "train.lr = 0.0 is out of range; it must be > 0"),
    ("train.lambda_align=-0.5", "train.lambda_align = -0.5 is out of range; it must be >= 0"),
    ("train.lambda_sim=-1", "train.lambda_sim = -1.0 is out of range; it must be >= 0"),
    ("train.temperature=0", "train.temperature = 0.0 is out of range; it must be > 0"),
    ("train.batch_size=0", "train.batch_size = 0 is out of range; it must be >= 1"),
    ("train.warmup_steps=-1", "train.warmup_steps = -1 is out of range; it must be >= 0"),
    ("train.momentum=1", "train.momentum = 1.0 is out of range; it must be in [0, 1)"),
    ("data.val_fraction=1", "data.val_fraction = 1.0 is out of range; it must be in [0, 1)"),
    ("data.val_fraction=-0.1", "data.val_fraction = -0.1 is out of range"),
    ("data.std=[0.3, 0]", "data.std = [0.3, 0.0] is out of range; every value must be > 0"),
    ("train.lr=.nan", "train.lr = nan is out of range"),
    ("train.eval_images=-5", "train.eval_images = -5 is out of range; it must be >= 0"),
])
def test_numeric_fields_are_range_checked_before_any_work(override: str, fragment: str, capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "run", "--set", override, "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "out").exists()  # refused before any work: not even a run folder


def test_in_range_edges_are_accepted() -> None:
    suite = load_suite("faithfulness", ["train.lambda_align=0", "data.val_fraction=0", "train.warmup_steps=0",
                                        "model.patch_size=1", "train.clip_grad=0", "train.eval_images=0"])
    assert suite.train.lambda_align == 0.0 and suite.model.patch_size == 1


def test_samples_zero_flag(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--samples", "0")
    assert_one_line_error(code, err, "samples must be at least 1")


def test_unavailable_cuda(capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")  # the error only exists without one
    code, _, err = run_cli(capsys, "run", "--device", "cuda", "--samples", "5")
    assert_one_line_error(code, err, "no GPU", "--device cpu")


def test_debug_shows_traceback(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--suite", "nope", "--debug")
    assert code == 2 and "Traceback" in err


def test_every_shipped_suite_validates() -> None:
    assert {"faithfulness", "localisation", "sanity", "quantus", "paper", "full"} <= set(suite_names())
    for name in suite_names():
        suite = load_suite(name)
        assert suite.include or suite.explainers or suite.metrics


def test_list_prints_everything(capsys) -> None:
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for word in ("suites:", "faithfulness", "presets:", "vit-tiny-fmnist", "explainers:", "metrics:", "datasets:"):
        assert word in out


def test_report_needs_a_run_dir(tmp_path, capsys) -> None:
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert_one_line_error(code, err, "no results.csv")


@pytest.mark.parametrize("override,fragment", [
    ("explainers=[rolout]", "unknown explainer 'rolout' (did you mean 'rollout'?)"),
    ("metrics=[delection]", "unknown metric 'delection' (did you mean 'deletion'?)"),
    ("preset=vit-b17", "unknown preset 'vit-b17'"),
    ("models=[vit,iavit]", "unknown model kind 'iavit'"),
])
def test_unknown_names_in_a_suite(override: str, fragment: str, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--set", override)
    assert_one_line_error(code, err, fragment)


def test_jobs_below_one_is_refused_before_any_work(capsys, tmp_path) -> None:
    for bad in ("0", "00", "two", "-1"):
        code, _, err = run_cli(capsys, "run", "--jobs", bad, "--out", str(tmp_path / "out"))
        assert_one_line_error(code, err, f"--jobs {bad}: use a number of processes (1 or more) or 'auto'")
    assert not (tmp_path / "out").exists()
