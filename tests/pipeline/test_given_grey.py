"""A 3-channel model on 1-channel data: the grey channel repeated, then normalised as the model's own, folded into
its patch embedding (``Seam.take_grey``); the logits must equal those of the explicit repeat for every family."""

from __future__ import annotations

import copy
import logging

import pandas as pd
import pytest
import torch
from families import hf_from_timm, timm_vit, torchvision_from_timm
from support import only_run_dir, write_suite
from torchvision.models import VisionTransformer

from iabench.cli import main
from iabench.config import DataConfig
from iabench.data import load_dataset
from iabench.models import seam_of
from iabench.pipeline.given import GivenRun, check_fits
from iabench.pipeline.plan import RunOptions
from iabench.pipeline.samples import select_samples

GREY = (0.2860, 0.3530)  # the data's own normalisation of its grey channel (Fashion-MNIST's)
OWN = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])  # the model's (ImageNet's): a different std per channel
TOLERANCE = 1e-5  # float32 sums in another order


def explicit(grey: torch.Tensor) -> torch.Tensor:
    """What the model is meant to see: the raw grey image repeated on 3 channels, normalised with its own stats."""
    raw = grey * GREY[1] + GREY[0]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in OWN)
    return (raw.repeat(1, 3, 1, 1) - mean) / std


@pytest.mark.parametrize("family", ["timm", "hf", "torchvision"])
def test_the_fold_gives_the_logits_of_the_explicit_repeat(family: str) -> None:
    vit = timm_vit(seed=3)
    model = {"timm": vit, "hf": hf_from_timm(vit) if family == "hf" else None,
             "torchvision": torchvision_from_timm(vit)}[family]
    grey = torch.randn(4, 1, 16, 16)
    seam = seam_of(model)
    with torch.no_grad():
        expected = seam.logits_of(model, explicit(grey))
        folded = copy.deepcopy(model)
        seam_of(folded).take_grey(GREY, OWN)
        got = seam_of(folded).logits_of(folded, grey)
    assert seam_of(folded).patch_proj.in_channels == 1
    assert (got - expected).abs().max().item() <= TOLERANCE
    assert (expected - seam.logits_of(model, grey.repeat(1, 3, 1, 1))).abs().max().item() > 1e-3  # stats matter


def test_a_torchvision_vit_runs_on_the_default_data(tmp_path, caplog) -> None:
    """A 10-class, 3-channel torchvision ViT saved as a state dict, on Fashion-MNIST: run, and the fold said once;
    torchvision's weights carry no normalisation, so the grey one is used on each channel."""
    torch.manual_seed(0)
    model = VisionTransformer(image_size=28, patch_size=7, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32,
                              num_classes=10)
    torch.nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision starts its head at zero: no gradient
    torch.save(model.state_dict(), tmp_path / "tv.pth")
    data = load_dataset(DataConfig(name="fashion-mnist", limit_train=64))
    run = GivenRun.load(RunOptions(model="torchvision:2", checkpoint=str(tmp_path / "tv.pth")), torch.device("cpu"))
    check_fits(data, run)  # the model as the run explains it: the fold, with the grey stats on every channel
    images = select_samples(data, "test", 8, 0).images
    with torch.no_grad():
        gap = (run.model(images) - model.eval()(images.repeat(1, 3, 1, 1))).abs().max().item()
    assert gap <= TOLERANCE
    suite = write_suite(tmp_path / "s.yaml", data={"name": "fashion-mnist", "limit_train": 64}, samples=4,
                        explainers=["saliency", "random"], metrics=["deletion", "accuracy"])
    caplog.clear()  # the check above said it once too
    with caplog.at_level(logging.INFO, logger="iabench"):
        code = main(["run", "--suite", str(suite), "--model", "torchvision:2", "--checkpoint", str(tmp_path / "tv.pth"),
                     "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
                     "--quiet"])
    assert code == 0
    said = [r.getMessage() for r in caplog.records if "grey channel is repeated" in r.getMessage()]
    assert said == ["model torchvision-tv takes 3-channel images, dataset 'fashion-mnist' has 1: its grey channel is "
                    "repeated, then normalised with mean (0.286, 0.286, 0.286) and std (0.353, 0.353, 0.353) (folded "
                    "into the patch embedding)"]
    results = pd.read_csv(only_run_dir(tmp_path / "out") / "results.csv")
    assert set(results.explainer) == {"-", "saliency", "random"} and len(results[results.metric == "deletion"]) == 8
    assert "constant" not in caplog.text  # the maps are the model's gradients, not zeros



def test_a_timm_vit_on_grey_data_reads_them_normalised_as_its_own(tmp_path) -> None:
    """DeiT's normalisation is ImageNet's (a different mean and std per channel): the data keeps its grey
    normalisation, and the fold turns it into DeiT's for each channel."""
    import timm

    from iabench.pipeline.given import fit_suite
    from iabench.suites import load_suite

    torch.manual_seed(1)
    arch = "deit_tiny_patch16_224"
    model = timm.create_model(arch, img_size=28, patch_size=7, num_classes=10, embed_dim=32, depth=1,
                              num_heads=2).eval()
    torch.save(model.state_dict(), tmp_path / "deit.pth")
    run = GivenRun.load(RunOptions(model=arch, checkpoint=str(tmp_path / "deit.pth"), num_heads=2),
                        torch.device("cpu"))
    suite = fit_suite(load_suite("faithfulness", ["data.limit_train=64"]), run)
    data = load_dataset(suite.data)
    assert (suite.data.mean, data.in_chans) == (None, 1)  # the grey stats stay the data's own
    check_fits(data, run)
    raw = select_samples(data, "test", 6, 0).images * data.std[0] + data.mean[0]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in OWN)  # DeiT's is ImageNet's
    with torch.no_grad():
        gap = (run.model(select_samples(data, "test", 6, 0).images) -
               model(((raw.repeat(1, 3, 1, 1)) - mean) / std)).abs().max().item()
    assert gap <= TOLERANCE
