"""timm's ResNet, ConvNeXt and Swin from a checkpoint: loaded exactly, the grid of their last feature map (the
output stride), Grad-CAM equal to pytorch-grad-cam's with the same layer and reshape, the explainers that need no
attention, refusals in one line. The models are tiny, trained a few steps here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch
from support import only_run_dir, write_suite

import iabench
from iabench.baselines import create_explainer
from iabench.cli import main
from iabench.config import DataConfig
from iabench.data import load_dataset
from iabench.errors import UserError
from iabench.models import seam_of

SIZE = 64
TINY = {"resnet10t": {},
        "convnext_atto": dict(dims=(8, 16, 24, 32), depths=(1, 1, 2, 1)),
        "swin_tiny_patch4_window7_224": dict(img_size=SIZE, window_size=4, embed_dim=16, depths=(1, 2),
                                             num_heads=(1, 2))}
STRIDE = {"resnet10t": 32, "convnext_atto": 32, "swin_tiny_patch4_window7_224": 8}


def trained(arch: str, steps: int = 3) -> torch.nn.Module:
    """ARCH, 1 channel and 10 classes, after a few Adam steps on 64 px synthetic glyphs."""
    torch.manual_seed(0)
    model = timm.create_model(arch, num_classes=10, in_chans=1, **TINY[arch])
    data = load_dataset(DataConfig(name="synthetic", img_size=SIZE, limit_train=32))
    images = torch.stack([data.train[i][0] for i in range(16)])
    labels = torch.tensor([int(data.train[i][1]) for i in range(16)])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimiser.step()
    return model.eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, tuple[torch.nn.Module, Path]]:
    folder = tmp_path_factory.mktemp("features")
    out = {}
    for arch in TINY:
        model = trained(arch)
        torch.save(model.state_dict(), folder / f"{arch}.pth")
        out[arch] = (model, folder / f"{arch}.pth")
    return out


@pytest.mark.parametrize("arch", list(TINY))
def test_a_checkpoint_loads_exactly_with_the_grid_of_its_last_feature_map(saved, arch: str) -> None:
    model, path = saved[arch]
    loaded = iabench.load_model(arch, path, img_size=SIZE)
    images = torch.randn(3, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (loaded(images) - model(images)).abs().max().item() <= 1e-6
    seam = seam_of(loaded)
    assert seam.kind == "feature-map" and seam.patch_size == (STRIDE[arch],) * 2
    assert seam.grid_for((SIZE, SIZE)) == (SIZE // STRIDE[arch],) * 2


def test_the_resnets_grid_is_its_feature_maps_on_a_hand_built_input(saved) -> None:
    """The grid the seam states equals the spatial size of the feature map a forward gives, at 64 and 96 px."""
    model, _ = saved["resnet10t"]
    seam, seen = seam_of(model), []
    handle = seam.feature_layer.register_forward_hook(lambda m, a, out: seen.append(tuple(out.shape[-2:])))
    try:
        for side in (64, 96):
            image = torch.zeros(1, 1, side, side)
            image[..., : side // 2, :] = 1.0  # top half bright: not a constant input
            with torch.no_grad():
                model(image)
            assert seen[-1] == seam.grid_for((side, side)) == (side // 32, side // 32)
            assert create_explainer("random-patch", model).native(image).shape[-2:] == seen[-1]
            assert create_explainer("gradcam", model).native(image, torch.tensor([0])).shape[-2:] == seen[-1]
    finally:
        handle.remove()
    with pytest.raises(UserError, match="multiple of 32"):
        seam.grid_for((60, 60))


@pytest.mark.parametrize("arch", ["swin_tiny_patch4_window7_224", "resnet10t"])
def test_grad_cam_equals_pytorch_grad_cams(saved, arch: str) -> None:
    """Same layer (the last stage), same reshape (a Swin's NHWC permuted), same target: pytorch-grad-cam's map is
    ours scaled its way (min-max per image, resized to the input with OpenCV, then min-max again)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, _ = saved[arch]
    images = torch.randn(3, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    targets = torch.tensor([1, 4, 7])
    layer = seam_of(model).feature_layer
    swin = arch.startswith("swin")
    with GradCAM(model=model, target_layers=[layer],
                 reshape_transform=(lambda t: t.permute(0, 3, 1, 2)) if swin else None) as cam:
        theirs = cam(input_tensor=images, targets=[ClassifierOutputTarget(int(t)) for t in targets])
    ours = create_explainer("gradcam", model).native(images, targets).detach().numpy()
    assert ours.shape[-2:] == (SIZE // STRIDE[arch],) * 2 and (ours > 0).any()
    # 1e-4 on maps in [0, 1]: both sides float32 through OpenCV's resize (measured: up to 8e-6 for the ResNet)
    assert np.abs(scale_cam_image(scale_cam_image(ours, (SIZE, SIZE))) - theirs).max() <= 1e-4


def test_attention_explainers_are_refused_naming_those_that_apply(saved) -> None:
    model, _ = saved["convnext_atto"]
    images = torch.randn(2, 1, SIZE, SIZE)
    for name in ("attention", "rollout", "attnlrp", "generic-attention"):
        with pytest.raises(UserError) as refused:
            iabench.explain(model, images, name)
        said = str(refused.value)
        assert said.startswith(f"{name} reads a ViT's tokens or attention, which a ConvNeXt does not have; on it "
                               "these apply: ") and "gradcam" in said and "rollout" not in said.split(": ")[-1]
    rows = iabench.evaluate(model, (images, torch.tensor([0, 1])), explainers=["saliency", "occlusion"],
                            metrics=["deletion"])
    assert set(rows.explainer) == {"saliency", "occlusion"} and rows.value.notna().all()


@pytest.mark.parametrize("arch", ["resnet10t", "convnext_atto"])
def test_a_cnn_is_evaluated_from_the_command_line(saved, arch: str, tmp_path: Path) -> None:
    _, path = saved[arch]
    suite = write_suite(tmp_path / "s.yaml", data={"name": "synthetic", "img_size": SIZE, "limit_train": 32},
                        samples=2, explainers=["gradcam", "occlusion", "random-patch"],
                        metrics=["deletion", "accuracy"])
    assert main(["run", "--suite", str(suite), "--model", arch, "--checkpoint", str(path), "--out",
                 str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
    results = pd.read_csv(only_run_dir(tmp_path / "out") / "results.csv")
    assert set(results.explainer) == {"-", "gradcam", "occlusion", "random-patch"} and results.value.notna().all()


def test_a_run_from_the_command_line(saved, tmp_path: Path, capsys, caplog) -> None:
    _, path = saved["swin_tiny_patch4_window7_224"]
    suite = write_suite(tmp_path / "s.yaml", data={"name": "synthetic", "img_size": SIZE, "limit_train": 32},
                        samples=2, explainers=["saliency", "gradcam", "random-patch", "attention"],
                        metrics=["deletion", "accuracy", "agreement"])
    args = ["run", "--suite", str(suite), "--model", "swin_tiny_patch4_window7_224", "--checkpoint", str(path),
            "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    with caplog.at_level(logging.INFO, logger="iabench"):
        assert main([*args, "--out", str(tmp_path / "out")]) == 0
    assert ("skipped on swin_tiny_patch4_window7_224 (they need a ViT's attention or an IA-ViT): attention, "
            "agreement") in caplog.text
    run_dir = only_run_dir(tmp_path / "out")
    results = pd.read_csv(run_dir / "results.csv")
    assert set(results.explainer) == {"-", "saliency", "gradcam", "random-patch"}
    assert "a CNN or Swin, read through its last feature map: a 8x8 grid, output stride 8" in (
        run_dir / "report.md").read_text()
    capsys.readouterr()
    refusals = {("--set", "explainers=saliency,rollout"): "rollout reads a ViT's tokens or attention",
                ("--set", "data.img_size=60"): "multiple of 8"}
    for extra, said in refusals.items():
        assert main([*args, "--out", str(tmp_path / "refused"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert said in err and "\n" not in err, err
    assert not (tmp_path / "refused").exists()
    with pytest.raises(UserError, match="the Swin was built for 64x64"):  # a Swin object keeps its size
        iabench.explain(iabench.load_model("swin_tiny_patch4_window7_224", path, img_size=SIZE),
                        torch.zeros(1, 1, 32, 32), "saliency")


def test_a_grid_under_2x2_is_refused(saved, tmp_path: Path, capsys) -> None:
    _, path = saved["resnet10t"]
    suite = write_suite(tmp_path / "s.yaml", data={"name": "synthetic", "img_size": 32, "limit_train": 32})
    assert main(["run", "--suite", str(suite), "--model", "resnet10t", "--checkpoint", str(path), "--out",
                 str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "at 32 px the last feature map of resnet10t is 1x1 (output stride 32); its patch-level maps and patch-unit "
        "metrics need 2x2 or more: --set data.img_size=64")


def test_grey_images_fold_into_a_stem_without_padding_and_a_padded_one_is_refused() -> None:
    """ConvNeXt's and Swin's stems are unpadded convolutions, so the grey fold is exact; a ResNet's stem pads."""
    grey, own = (0.3, 0.4), ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    images = torch.randn(2, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in own)
    explicit = ((images * grey[1] + grey[0]).repeat(1, 3, 1, 1) - mean) / std
    for arch in ("convnext_atto", "swin_tiny_patch4_window7_224"):
        torch.manual_seed(0)
        model = timm.create_model(arch, num_classes=10, **TINY[arch]).eval()
        with torch.no_grad():
            expected = model(explicit)
            seam_of(model).take_grey(grey, own)
            assert (model(images) - expected).abs().max().item() <= 1e-5
    with pytest.raises(UserError, match="first convolution pads its input"):
        seam_of(timm.create_model("resnet10t", num_classes=10)).take_grey(grey, own)


def test_evaluate_refuses_an_attention_explainer_on_a_cnn(saved) -> None:
    model, _ = saved["resnet10t"]
    with pytest.raises(UserError, match="^attention, rollout read a ViT's tokens or attention, which a ResNet does "
                                        "not have; on it these apply: .*saliency"):
        iabench.evaluate(model, (torch.zeros(2, 1, SIZE, SIZE), torch.tensor([0, 1])),
                         explainers=["saliency", "attention", "rollout"], metrics=["deletion"])


def test_a_model_built_elsewhere_takes_the_grid_of_its_images(saved) -> None:
    """A ResNet built by timm for 224 px, explained on 64 px images: the shuffled and random controls use the 2x2 grid
    of those images, not the 7x7 of its default size; heads given to it are refused."""
    model = timm.create_model("resnet10t", num_classes=10, in_chans=1).eval()
    images = torch.randn(2, 1, SIZE, SIZE)
    for name in ("shuffled:gradcam", "random-patch"):
        explainer = create_explainer(name.split(":")[0], model, **({"of": "gradcam"} if ":" in name else {}))
        assert explainer.native(images, torch.tensor([0, 1])).shape[-2:] == (2, 2)
    _, path = saved["resnet10t"]
    with pytest.raises(UserError, match="model.num_heads=2: resnet10t has no attention heads"):
        iabench.load_model("resnet10t", path, num_heads=2, img_size=SIZE)


@pytest.mark.parametrize("arch", list(TINY))
def test_every_explainer_without_attention_and_every_metric_but_the_ia_vits_apply(saved, arch: str) -> None:
    """On each family: every registered explainer that needs no ViT gives a finite map of the images' size, and every
    metric but the IA-ViT's scores (the decomposition ones on integrated gradients, a map that decomposes)."""
    from iabench.baselines import EXPLAINERS
    from iabench.metrics import METRICS

    model, _ = saved[arch]
    images = torch.randn(2, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(4))
    targets, masks = torch.tensor([2, 5]), torch.rand(2, SIZE, SIZE) > 0.5
    options = {"rise": {"n_masks": 32}, "smoothgrad": {"nt_samples": 4}, "shuffled": {"of": "gradcam"}}
    applying = [n for n in EXPLAINERS.names() if not (EXPLAINERS.get(n).needs.vit or EXPLAINERS.get(n).needs.ia_vit)]
    assert {"saliency", "integrated-gradients", "smoothgrad", "input-x-gradient", "occlusion", "rise", "gradcam",
            "random-patch"} <= set(applying)
    for name in applying:
        saliency = create_explainer(name, model, **options.get(name, {})).attribute(images, targets, masks)
        assert saliency.shape == (2, SIZE, SIZE) and torch.isfinite(saliency).all(), name
    for name in METRICS.names():
        if METRICS.get(name).needs.ia_vit:
            continue
        explainer = "integrated-gradients" if METRICS.get(name).needs.decomposition else "saliency"
        metric = {"name": name, "options": {"nr_samples": 2}} if name == "monotonicity-correlation" else name  # speed
        rows = iabench.evaluate(model, (images, targets, masks), explainers=[explainer], metrics=[metric])
        assert len(rows) >= 2 and rows.value.notna().all(), name


def test_images_of_other_channels_are_refused_saying_what_a_cnn_takes(saved) -> None:
    model, _ = saved["resnet10t"]
    said = r"^images of shape \(2, 3, 64, 64\), but the model takes \(B, 1, H, W multiples of 32\)"
    with pytest.raises(UserError, match=said):
        iabench.explain(model, torch.zeros(2, 3, SIZE, SIZE), "saliency")
