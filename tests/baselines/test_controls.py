"""Controls at each map's resolution: random-patch, the permutation control shuffled:EXPLAINER, and every
explainer's declared resolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iabench.baselines import EXPLAINERS, create_explainer, matched_control, upsample_patch_map
from iabench.baselines.controls import PATCH_SALT
from iabench.baselines.shuffled import SHUFFLE_SALT, shuffle_patches
from iabench.errors import UserError
from iabench.models import create_model, get_preset
from iabench.pipeline.plan import explainer_classes, work_items
from iabench.seeding import image_generator
from iabench.suites import load_suite

TINY = get_preset("vit-tiny-fmnist").model
FAST = {"integrated-gradients": {"n_steps": 4}, "integrated-gradients[blur]": {"n_steps": 4},
        "integrated-gradients[uniform]": {"n_steps": 4}, "integrated-gradients[mean]": {"n_steps": 4},
        "rise": {"n_masks": 16}, "smoothgrad": {"nt_samples": 4}, "shuffled": {"of": "rollout"}}


@pytest.fixture(scope="module")
def ia_vit() -> nn.Module:
    torch.manual_seed(0)
    return create_model("ia-vit", TINY).eval()


def _images(n: int, seed: int = 3) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_random_patch_is_seeded_uniform_noise_per_patch_upsampled_like_a_patch_map(ia_vit: nn.Module) -> None:
    images = _images(3)
    explainer = create_explainer("random-patch", ia_vit)
    native = explainer.native(images)
    expected = torch.stack([torch.rand(7, 7, generator=image_generator(image, 0, PATCH_SALT)) for image in images])
    assert torch.equal(native, expected)  # one draw per patch of the model's 7x7 grid, from the image's own stream
    assert torch.equal(explainer.attribute(images), upsample_patch_map(expected, (28, 28)))
    assert torch.equal(explainer.attribute(images[1:2]), explainer.attribute(images)[1:2])  # batch-invariant
    assert not torch.equal(create_explainer("random-patch", ia_vit, seed=1).native(images), native)
    pixel = create_explainer("random", ia_vit).attribute(images)
    assert not torch.allclose(pixel[:, :7, :7], upsample_patch_map(expected, (28, 28))[:, :7, :7])


def test_shuffled_keeps_the_patch_values_exactly_and_moves_them(ia_vit: nn.Module) -> None:
    images = _images(4)
    source = create_explainer("ia-vit", ia_vit).native(images)
    control = create_explainer("shuffled", ia_vit, of="ia-vit")
    native = control.native(images)
    assert native.shape == (4, 7, 7)
    for i in range(4):  # the same 49 values per image, in the order the image's own permutation gives
        order = torch.randperm(49, generator=image_generator(images[i].cpu(), 0, SHUFFLE_SALT))
        assert torch.equal(native[i].flatten(), source[i].flatten()[order])
        assert not torch.equal(native[i], source[i])
    assert torch.equal(control.attribute(images), upsample_patch_map(native, (28, 28)))  # upsampled like ia-vit
    assert torch.equal(control.native(images[2:3]), native[2:3])  # batch-invariant
    assert not torch.equal(create_explainer("shuffled", ia_vit, of="ia-vit", seed=5).native(images), native)
    # created by name, it is the class the pipeline resolves: the shuffled interpreter is a patch map
    assert control.resolution == "patch" and type(control).source is EXPLAINERS.get("ia-vit")
    assert create_explainer("shuffled", ia_vit, of="integrated-gradients").resolution == "pixel"


def test_shuffle_patches_moves_pixel_tiles_as_blocks() -> None:
    """A pixel map's tiles (the patches) trade places whole: a 4x4 map on a 2x2 grid, tiles marked 0..3."""
    native = torch.arange(16.0).reshape(1, 4, 4)
    image = torch.zeros(1, 4, 4)
    order = torch.randperm(4, generator=image_generator(image, 7, SHUFFLE_SALT))
    out = shuffle_patches(native, image[None], (2, 2), 7)
    tiles = [native[0, r:r + 2, c:c + 2] for r in (0, 2) for c in (0, 2)]
    for slot, (r, c) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        assert torch.equal(out[0, r:r + 2, c:c + 2], tiles[int(order[slot])])
    with pytest.raises(ValueError, match="patch grid"):
        shuffle_patches(torch.zeros(1, 5, 5), image[None], (2, 2), 0)


def test_every_explainer_declares_its_native_resolution(ia_vit: nn.Module) -> None:
    """patch: one value per patch (the grid, or constant within each 4x4 patch); pixel: detail inside patches."""
    images, target = _images(2), torch.tensor([1, 4])
    for name in EXPLAINERS.names():
        cls = EXPLAINERS.get(name).resolved(FAST.get(name, {}))
        explainer = cls(ia_vit, **FAST.get(name, {}))
        # an oracle's map is the ground truth it is given: random masks have detail inside patches
        masks = torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(1)) > 0.5
        native = explainer.from_masks(images, masks) if cls.needs.masks else explainer.native(images, target)
        blocks = native.reshape(2, 7, native.shape[1] // 7, 7, native.shape[2] // 7)
        within = (blocks.amax(dim=(2, 4)) - blocks.amin(dim=(2, 4))).abs().max().item()
        one_per_patch = native.shape[-2:] == (7, 7) or within == 0
        assert one_per_patch == (cls.resolution == "patch"), (name, cls.resolution, tuple(native.shape), within)
        assert matched_control(cls.resolution) == ("random-patch" if cls.resolution == "patch" else "random")


def test_shuffled_takes_its_sources_needs_and_refuses_bad_options() -> None:
    suite = load_suite("faithfulness", ["explainers=ia-vit,shuffled:ia-vit,shuffled:saliency,random-patch"])
    assert [(s.name, s.label, s.options) for s in suite.explainers][1:3] == [
        ("shuffled", "shuffled:ia-vit", {"of": "ia-vit"}), ("shuffled", "shuffled:saliency", {"of": "saliency"})]
    classes = explainer_classes(suite.explainers)
    assert classes["shuffled:ia-vit"].needs.ia_vit and classes["shuffled:ia-vit"].resolution == "patch"
    assert not classes["shuffled:saliency"].needs.ia_vit and classes["shuffled:saliency"].resolution == "pixel"
    on_vit = [i.explainer for i in work_items(suite, classes, 0) if i.model == "vit"]
    assert on_vit == [None, "shuffled:saliency", "random-patch"]  # the interpreter and its shuffle: IA-ViT only
    with pytest.raises(UserError, match="needs the explainer to shuffle"):
        explainer_classes(load_suite("faithfulness", ["explainers=shuffled"]).explainers)
    with pytest.raises(UserError, match="did you mean 'rollout'"):
        explainer_classes(load_suite("faithfulness", ["explainers=shuffled:rolout"]).explainers)
    with pytest.raises(UserError, match="shuffle a shuffled map"):
        explainer_classes(load_suite("faithfulness", ["explainers=shuffled:shuffled"]).explainers)
    with pytest.raises(UserError, match="takes no ':' argument"):
        load_suite("faithfulness", ["explainers=attention:ia-vit"])
    with pytest.raises(UserError, match="n_steps"):  # the source's own options are checked too
        EXPLAINERS.get("shuffled").parse_options({"of": "integrated-gradients", "of_options": {"n_step": 4}})
