"""The pipeline end to end on a Hugging Face and a torchvision ViT: `iabench run --model hf:DIR` and `--model
torchvision:HEADS --checkpoint FILE` on an image folder write the same tables and report as the timm run of the same
weights (converted by the test), with the same scores, and the report names the family. Loading is offline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from families import hf_from_timm, timm_vit, torchvision_state
from PIL import Image
from support import only_run_dir, write_suite

from iabench.cli import main

ARCH = "vit_tiny_patch16_224"
FILES = ("results.csv", "summary.csv", "report.html", "report.md", "manifest.json", "models.json", "heatmaps.npz")


def _image_tree(root: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    for cls in ("a", "b", "c"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            pixels = (torch.rand(20, 20, 3, generator=generator) * 255).to(torch.uint8).numpy()
            Image.fromarray(pixels).save(root / cls / f"{i}.png")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("families")
    vit = timm_vit(num_classes=3)
    torch.save(vit.state_dict(), base / "timm.pth")
    hf_from_timm(vit).save_pretrained(base / "hf: my vit")  # a folder name with a colon and a space
    torch.save(torchvision_state(vit), base / "tv.pth")
    _image_tree(base / "imgs")
    # one normalisation for all three (timm's config of ARCH would otherwise differ from the others' defaults)
    suite = write_suite(base / "s.yaml", explainers=["attention", "rollout", "attnlrp", "gradcam", "random"],
                        metrics=["deletion", "insertion", "accuracy"],
                        data={"name": "imagefolder", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})
    models = {"timm": ["--model", ARCH, "--checkpoint", str(base / "timm.pth"), "--set", "model.num_heads=3"],
              "hf": ["--model", f"hf:{base / 'hf: my vit'}"],
              "torchvision": ["--model", "torchvision:3", "--checkpoint", str(base / "tv.pth")]}
    out = {}
    for family, model in models.items():
        args = ["run", "--suite", str(suite), *model, "--data-root", str(base / "imgs"), "--out", str(base / family),
                "--cache-dir", str(base / "cache"), "--device", "cpu", "--quiet"]
        assert main(args) == 0, family
        out[family] = only_run_dir(base / family)
    return out


def test_each_family_writes_the_same_tables_and_report(runs: dict[str, Path]) -> None:
    for family, run_dir in runs.items():
        missing = [name for name in FILES if not (run_dir / name).is_file()]
        assert missing == [], family
    timm_results = pd.read_csv(runs["timm"] / "results.csv")
    assert len(timm_results) == 12 * 5 * 2 + 12  # 12 images x 5 explainers x 2 curves + one accuracy per image
    for family in ("hf", "torchvision"):
        results = pd.read_csv(runs[family] / "results.csv")
        merged = timm_results.merge(results, on=["explainer", "metric", "sample"], suffixes=("", "_other"))
        assert len(merged) == len(timm_results), family
        assert (merged.value - merged.value_other).abs().max() < 1e-4, family


def test_the_report_names_the_family(runs: dict[str, Path]) -> None:
    assert "Hugging Face transformers ViTForImageClassification" in (runs["hf"] / "report.html").read_text()
    assert "torchvision VisionTransformer" in (runs["torchvision"] / "report.html").read_text()
    assert "`hf-hf: my vit`" in (runs["hf"] / "report.md").read_text()


def test_a_distilled_deit_and_refusals_from_the_command_line(tmp_path: Path, capsys) -> None:
    """A distilled DeiT (two prefix tokens) is evaluated; a timm CNN other than a ResNet or ConvNeXt and an HF folder
    of another class are refused in one line naming the families, exit 2, before any work (no run folder)."""
    deit = timm_vit(distilled=True, num_classes=3)
    torch.save(deit.state_dict(), tmp_path / "deit.pth")
    _image_tree(tmp_path / "imgs")
    suite = write_suite(tmp_path / "s.yaml", explainers=["attention", "rollout"], metrics=["deletion"],
                        data={"name": "imagefolder"})
    common = ["--suite", str(suite), "--data-root", str(tmp_path / "imgs"), "--cache-dir", str(tmp_path / "cache"),
              "--device", "cpu", "--quiet"]
    assert main(["run", "--model", "deit_tiny_distilled_patch16_224", "--checkpoint", str(tmp_path / "deit.pth"),
                 "--set", "model.num_heads=3", "--out", str(tmp_path / "deit"), *common]) == 0
    assert len(pd.read_csv(only_run_dir(tmp_path / "deit") / "results.csv")) == 12 * 2
    import timm
    import transformers

    torch.save(timm.create_model("mobilenetv3_small_050", num_classes=3).state_dict(), tmp_path / "cnn.pth")
    beit = transformers.BeitForImageClassification(transformers.BeitConfig(
        image_size=16, patch_size=4, hidden_size=48, num_hidden_layers=1, num_attention_heads=3, intermediate_size=96,
        num_labels=3))
    beit.save_pretrained(tmp_path / "beit")
    capsys.readouterr()
    for model in (["--model", "mobilenetv3_small_050", "--checkpoint", str(tmp_path / "cnn.pth")],
                  ["--model", f"hf:{tmp_path / 'beit'}"]):
        assert main(["run", *model, "--out", str(tmp_path / "refused"), *common]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and "timm VisionTransformer" in err[0] and "torchvision" in err[0], err
        assert "timm ResNet, ConvNeXt and Swin classifiers" in err[0], err  # the families beyond ViTs named too
    assert not (tmp_path / "refused").exists()


def test_without_transformers_the_run_says_what_to_install(tmp_path: Path, capsys, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "transformers" else real(name, *args))
    (tmp_path / "hf").mkdir()
    assert main(["run", "--model", f"hf:{tmp_path / 'hf'}", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["iabench: error: --model hf:DIR needs Hugging Face transformers: pip install 'iabench[hf]' "
                   "(transformers>=4.57,<6)"]


def test_an_incomplete_folder_and_unknown_heads_are_one_line(tmp_path: Path) -> None:
    """A save_pretrained folder missing its head's weights (transformers would fill them at random), and a
    torchvision checkpoint whose width is not a builder's without HEADS, are refused in one line saying the fix."""
    from safetensors.torch import load_file, save_file

    from iabench.errors import UserError
    from iabench.models.families import hf_vit, torchvision_vit

    hf_from_timm(timm_vit()).save_pretrained(tmp_path / "hf")
    weights = tmp_path / "hf" / "model.safetensors"
    save_file({k: v for k, v in load_file(weights).items() if not k.startswith("classifier.")}, weights,
              metadata={"format": "pt"})
    with pytest.raises(UserError, match="does not hold all the weights .* missing keys classifier") as err:
        hf_vit.load_folder(tmp_path / "hf")
    assert "\n" not in str(err.value) and "save_pretrained" in str(err.value)
    torch.save(torchvision_state(timm_vit()), tmp_path / "tv.pth")
    with pytest.raises(UserError, match="width-48 model: give it, --model torchvision:HEADS"):
        torchvision_vit.load_file(tmp_path / "tv.pth")
    assert torchvision_vit.load_file(tmp_path / "tv.pth", num_heads=3).encoder.layers[0].self_attention.num_heads == 3
