"""Model families by registry: the supported list, --model's forms and the seam lookup are written from the families'
own declarations, so a family added in one file is listed, parsed and served with nothing else edited."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from iabench.errors import UserError
from iabench.models import UnsupportedModel, seam_of
from iabench.models.families import FAMILIES, Family, GivenModel, families, forms, parse_model, supported
from iabench.models.families.torchvision_vit import BUILDERS, HEADS_BY_WIDTH
from iabench.models.seam import Seam


class ToyNet(nn.Module):
    """A model no real family serves."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


class ToySeam(Seam):
    """A seam of no parts: the test asks only which family took the model."""

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        return model if isinstance(model, ToyNet) else None


TOY = Family(name="toy", rank=9, library="torch", prefix="toy", form="toy:NAME (a test's)", serves="the test's ToyNet",
             refuses="anything else", seam=ToySeam,
             parse=lambda model, checkpoint: GivenModel("toy", "vit", model, Path("."), model.replace(":", "-")),
             load=lambda given: (ToyNet(), None), normalisation=lambda given: None)


def test_the_lists_are_the_families_declarations_in_their_order() -> None:
    assert [f.name for f in families()] == ["timm", "hf", "torchvision", "timm-features"]
    assert supported() == ", ".join(f.serves for f in families())
    assert forms() == ("ARCH or ia-vit:ARCH with --checkpoint FILE (timm), hf:DIR (a save_pretrained folder), "
                       "torchvision[:HEADS] with --checkpoint FILE, or ARCH with --checkpoint FILE (a timm ResNet, "
                       "ConvNeXt or Swin)")


def test_a_family_added_in_one_place_is_listed_parsed_and_served(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnsupportedModel, match="it serves timm VisionTransformer"):
        seam_of(ToyNet())
    monkeypatch.setitem(FAMILIES._entries, "toy", TOY)  # what its file's FAMILIES.register(...) does
    assert supported().endswith(", the test's ToyNet") and forms().endswith(", or toy:NAME (a test's)")
    assert parse_model("toy:mine", "").name == "toy-mine"  # its prefix reaches its own parser
    assert parse_model("vit_tiny_patch16_224", __file__).family == "timm"  # no prefix: the default family
    model = ToyNet()
    assert isinstance(seam_of(model), ToySeam) and seam_of(model).model is model


def test_one_table_of_torchvision_heads() -> None:
    assert HEADS_BY_WIDTH == {768: 12, 1024: 16, 1280: 16}  # torchvision's own builders
    assert parse_model("torchvision:vit_l_16", __file__).num_heads == BUILDERS["vit_l_16"][1] == 16
    assert parse_model("torchvision:5", __file__).num_heads == 5
    assert parse_model("torchvision", __file__).num_heads is None  # the weights' width decides, at load
    with pytest.raises(UserError, match="give the number of heads or one of vit_b_16, vit_b_32"):
        parse_model("torchvision:huge", __file__)


def test_a_prefix_alone_names_no_folder() -> None:
    with pytest.raises(UserError, match="names no folder; give the folder save_pretrained wrote: --model hf:DIR"):
        parse_model("hf", "")


def test_model_names_carry_the_prefix_once(tmp_path: Path) -> None:
    for folder in ("hf-vit", "my-vit"):
        (tmp_path / folder).mkdir()
    (tmp_path / "torchvision-b16.pth").write_bytes(b"")
    (tmp_path / "b16.pth").write_bytes(b"")
    names = [parse_model(f"hf:{tmp_path / 'hf-vit'}", "").name, parse_model(f"hf:{tmp_path / 'my-vit'}", "").name,
             parse_model("torchvision:12", tmp_path / "torchvision-b16.pth").name,
             parse_model("torchvision:12", tmp_path / "b16.pth").name]
    assert names == ["hf-vit", "hf-my-vit", "torchvision-b16", "torchvision-b16"]
