"""The explainer base class on stub explainers whose maps are known: input checks, which target reaches the
method, the channel sum, and the bilinear upsampling of patch maps (values computed by hand)."""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch
from torch import nn

from iabench.baselines import EXPLAINERS, Explainer, create_explainer, upsample_patch_map
from iabench.baselines._base import check_explainer
from iabench.contract import Needs
from iabench.models import create_model, get_preset
from iabench.registry import Registry

# bilinear, align_corners=False, 2 -> 4 samples: output pixel centres map to source positions
# (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]; so a ramp a, b becomes
# a, 0.75a + 0.25b, 0.25a + 0.75b, b
RAMP = torch.tensor([0.0, 0.25, 0.75, 1.0])


class _Stub(Explainer):
    """Returns ``self.saliency`` and records the target it was given."""

    name = "stub"

    def __init__(self, model: nn.Module, saliency: torch.Tensor, needs_target: bool = True) -> None:
        super().__init__(model)
        self.saliency, self.needs, self.seen = saliency, Needs(target=needs_target), None

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.seen = target
        return self.saliency


class _ModeLogits(nn.Module):
    """Logits that name a different class in training mode (class 0) than in eval mode (class 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        logits = torch.zeros(x.shape[0], 3)
        logits[:, 0 if self.training else 2] = 1.0
        return logits


def test_patch_vector_is_upsampled_bilinearly_on_a_square_grid() -> None:
    patches = torch.tensor([[0.0, 1.0, 2.0, 3.0], [4.0, 4.0, 4.0, 4.0]])  # two images, 2 x 2 grids
    out = upsample_patch_map(patches, (4, 4))
    # the first grid is 2 * row + column, a linear function: bilinear interpolation keeps it linear
    expected = 2 * RAMP[:, None] + RAMP[None, :]
    torch.testing.assert_close(out[0], expected)
    torch.testing.assert_close(out[1], torch.full((4, 4), 4.0))
    torch.testing.assert_close(upsample_patch_map(patches.reshape(2, 2, 2), (4, 4)), out)
    nine = torch.arange(9.0)[None]  # a 3 x 3 grid to its own size: the identity
    torch.testing.assert_close(upsample_patch_map(nine, (3, 3)), nine.reshape(1, 3, 3))


def test_a_patch_count_that_is_not_a_square_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot infer a square grid from 3 patches"):
        upsample_patch_map(torch.ones(2, 3), (4, 4))
    with pytest.raises(ValueError, match="cannot infer a square grid from 5 patches"):  # above the nearest square
        upsample_patch_map(torch.ones(2, 5), (4, 4))


def test_channels_are_summed_and_patch_maps_upsampled() -> None:
    per_channel = torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4)
    out = _Stub(nn.Identity(), per_channel).attribute(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1]))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, per_channel.sum(dim=1).float())
    grid = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    out = _Stub(nn.Identity(), grid).attribute(torch.zeros(1, 1, 4, 4), torch.tensor([0]))
    torch.testing.assert_close(out[0], 2 * RAMP[:, None] + RAMP[None, :])
    # a full-size map is returned as it is
    full = torch.randn(1, 4, 4)
    torch.testing.assert_close(_Stub(nn.Identity(), full).attribute(torch.zeros(1, 1, 4, 4), [0]), full)


@pytest.mark.parametrize("shape", [(3, 4, 4), (1, 1, 3, 4, 4)])
def test_images_must_be_four_dimensional(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected images \(B, C, H, W\)"):
        _Stub(nn.Identity(), torch.zeros(1, 4, 4)).attribute(torch.zeros(shape), torch.tensor([0]))


def test_a_target_per_image_is_required() -> None:
    with pytest.raises(ValueError, match="^3 targets for 2 images$"):
        _Stub(nn.Identity(), torch.zeros(2, 4, 4)).attribute(torch.zeros(2, 1, 4, 4), torch.tensor([0, 1, 2]))


def test_missing_target_is_the_eval_mode_prediction_and_the_mode_comes_back() -> None:
    model = _ModeLogits().train()
    stub = _Stub(model, torch.zeros(2, 4, 4))
    stub.attribute(torch.zeros(2, 1, 4, 4))
    assert stub.seen.tolist() == [2, 2] and model.calls == 1 and model.training
    stub.attribute(torch.zeros(2, 1, 4, 4), torch.tensor([1, 0]))  # a given target is passed on as is
    assert stub.seen.tolist() == [1, 0] and model.calls == 1


def test_a_target_free_method_costs_no_forward_and_keeps_a_given_target() -> None:
    model = _ModeLogits()
    stub = _Stub(model, torch.zeros(2, 4, 4), needs_target=False)
    stub.attribute(torch.zeros(2, 1, 4, 4))
    assert model.calls == 0 and stub.seen.tolist() == [0, 0]
    stub.attribute(torch.zeros(2, 1, 4, 4), torch.tensor([1, 2]))
    assert model.calls == 0 and stub.seen.tolist() == [1, 2]


def test_only_the_intrinsic_explainer_needs_an_ia_vit() -> None:
    needs = {name for name in EXPLAINERS if EXPLAINERS.get(name).needs.ia_vit}
    assert needs == {name for name in EXPLAINERS if EXPLAINERS.get(name).family == "intrinsic"} == {"ia-vit"}


def test_the_ia_vit_explainer_needs_the_interpreter_and_no_target_forward() -> None:
    class ExplainOnly(nn.Module):  # an ``explain`` method is not enough: IA-ViT has an interpreter
        def explain(self, images: torch.Tensor) -> torch.Tensor:
            return torch.zeros(images.shape[0], 49)

    with pytest.raises(TypeError, match="needs an IA-ViT model"):
        create_explainer("ia-vit", ExplainOnly()).attribute(torch.zeros(1, 1, 28, 28), [0])
    torch.manual_seed(0)
    model = create_model("ia-vit", get_preset("vit-tiny-fmnist").model).eval()
    forwards = []
    model.register_forward_hook(lambda *_: forwards.append(1))
    images = torch.randn(2, 1, 28, 28)
    given = create_explainer("ia-vit", model).attribute(images, torch.tensor([3, 4]))
    calls_with_target = len(forwards)
    # the interpreter's attention does not depend on the class: no forward to predict one
    torch.testing.assert_close(create_explainer("ia-vit", model).attribute(images), given)
    assert len(forwards) == 2 * calls_with_target


def test_an_option_the_explainer_does_not_read_is_refused_in_one_line(tmp_path, capsys) -> None:
    from iabench.cli import main
    from iabench.errors import UserError

    model = create_model("vit", get_preset("vit-tiny-fmnist").model)
    with pytest.raises(UserError, match="^explainer rise: unknown option 'n_mask' \\(did you mean 'n_masks'\\?\\); "
                                        "valid options: n_masks, cell, p_keep, batch_size, seed$"):
        create_explainer("rise", model, n_mask=4000)
    with pytest.raises(UserError, match="^explainer attention: unknown option 'sigma'; it takes no options$"):
        create_explainer("attention", model, sigma=1)
    with pytest.raises(UserError, match="^explainer rise: option p_keep = 0.0 is out of range; it must be in "
                                        "\\(0, 1\\]$"):
        create_explainer("rise", model, p_keep=0)
    with pytest.raises(UserError, match="^explainer rollout: option head_fusion must be one of mean, max, min, got "
                                        "'maxx' \\(did you mean 'max'\\?\\)$"):
        create_explainer("rollout", model, head_fusion="maxx")
    create_explainer("rise", model, n_masks=8, cell=4)  # every option it reads is accepted
    # from the command line: refused before any training, exit code 2
    code = main(["run", "--suite", "faithfulness", "--samples", "2", "--cache-dir", str(tmp_path),
                 "--set", "explainers=[{name: rise, options: {n_mask: 10}}]"])
    assert code == 2 and not (tmp_path / "models").exists()
    assert "explainer rise: unknown option 'n_mask' (did you mean 'n_masks'?)" in capsys.readouterr().err


def test_a_suite_refuses_a_misspelt_option_of_a_metrics_reference_explainer() -> None:
    from iabench.errors import UserError
    from iabench.suites import load_suite

    metric = "metrics=[{name: rank-correlation, options: {reference: integrated-gradients, reference_options: %s}}]"
    with pytest.raises(UserError, match="explainer integrated-gradients: unknown option 'n_stepz'"):
        load_suite("faithfulness", [metric % "{n_stepz: 3}"])
    with pytest.raises(UserError, match="unknown explainer 'integrated-gradient'"):
        load_suite("faithfulness", [metric.replace("integrated-gradients", "integrated-gradient") % "{}"])
    load_suite("faithfulness", [metric % "{n_steps: 3}"])


def _explainer_class(**attrs: object) -> type:
    complete = {"name": "made-up", "family": "gradient", "resolution": "pixel", "reference": "someone 2024",
                "description": "what it computes", "cost": "1 forward"}
    return type("MadeUp", (Explainer,), {**complete, **attrs})


@dataclasses.dataclass(frozen=True)
class _NotOptions:  # frozen, but not the contract's Options
    steps: int = 3


@pytest.mark.parametrize(("attrs", "problem"), [
    ({"family": "magic"}, "family 'magic' is not one of intrinsic, attention, relevance, gradient, perturbation, "
                          "control"),
    ({"resolution": "voxel"}, "resolution 'voxel' is not one of pixel, patch"),
    ({"description": ""}, "it needs a description (one line, no trailing period), a reference and a cost"),
    ({"description": "what it computes."}, "it needs a description (one line, no trailing period)"),
    ({"reference": ""}, "it needs a description (one line, no trailing period), a reference and a cost"),
    ({"cost": ""}, "it needs a description (one line, no trailing period), a reference and a cost"),
    ({"needs": Needs(saliency=True)}, "an explainer's needs are ia_vit, vit, target and masks only"),
    ({"needs": Needs(masks=True)}, "an explainer that needs masks implements from_masks"),
    ({"Options": dict}, "its Options must be a frozen dataclass subclassing iabench.contract.Options"),
    ({"Options": _NotOptions}, "its Options must be a frozen dataclass subclassing iabench.contract.Options"),
])
def test_the_registry_refuses_an_explainer_that_breaks_the_contract(attrs, problem) -> None:
    check_explainer(_explainer_class())  # the complete declaration passes
    with pytest.raises(TypeError, match=re.escape(f"explainer made-up: {problem}")):
        check_explainer(_explainer_class(**attrs))
    with pytest.raises(TypeError, match=re.escape("resolution 'voxel' is not one of pixel, patch; it needs")):
        check_explainer(_explainer_class(resolution="voxel", cost=""))  # every problem, joined


def test_the_registry_takes_the_name_from_the_class() -> None:
    registry = Registry("explainer", check_explainer)
    assert registry.register(_explainer_class(name="made-up-2")) is registry.get("made-up-2")
    with pytest.raises(ValueError, match="declares no name"):
        registry.register(_explainer_class(name=""))


def test_the_explainers_whose_maps_decompose_the_logit() -> None:
    # conservation scores exactly these; attention, rollout, gradients and controls never claim it
    assert {n for n in EXPLAINERS.names() if EXPLAINERS.get(n).decomposes_logit} == {
        "attnlrp", "input-x-gradient", "integrated-gradients", "integrated-gradients[blur]",
        "integrated-gradients[mean]", "integrated-gradients[uniform]", "lrp", "lrp-captum-naive"}
