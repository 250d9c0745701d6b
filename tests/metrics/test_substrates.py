"""Substrates of the perturbation metrics: ROAD's imputation against Quantus and a known answer, the
noise substrate's range and determinism, and the short names (deletion[blur])."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from quantus.functions.perturb_func import noisy_linear_imputation
from support import LinearEvidence
from torchvision.transforms.functional import gaussian_blur

from iabench.errors import UserError
from iabench.metrics import create_metric
from iabench.metrics._perturbation import unit_ranks
from iabench.substrates import neighbour_matrix, road_impute, substrate_for
from iabench.suites.methods import method_specs


def test_road_imputation_equals_quantus_without_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    image = torch.randn(3, 9, 7, generator=gen, dtype=torch.float64)
    removed = torch.rand(9, 7, generator=gen) < 0.4
    removed[0, 0] = removed[8, 6] = True  # corners: neighbour weights renormalised at the border
    ours = road_impute(image, removed, neighbour_matrix(9, 7), noise=0.0)
    indices = np.flatnonzero(removed.numpy().ravel())
    theirs = noisy_linear_imputation(image.numpy(), indices, noise=0.0)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10, atol=1e-12)
    assert torch.equal(ours[:, ~removed], image[:, ~removed])  # kept pixels untouched


def test_road_imputation_reproduces_a_linear_image() -> None:
    """The stencil (1/6 direct, 1/12 diagonal neighbours) is symmetric, so an image linear in row and column
    is its own weighted neighbour mean: removed interior pixels come back exactly."""
    rows, cols = torch.meshgrid(*[torch.arange(10, dtype=torch.float64)] * 2, indexing="ij")
    image = (0.3 * rows - 0.7 * cols + 2.0)[None]
    removed = torch.zeros(10, 10, dtype=torch.bool)
    removed[2:6, 3:8] = True
    removed[7, 7] = True
    torch.testing.assert_close(road_impute(image, removed, neighbour_matrix(10, 10), noise=0.0), image)
    everything = torch.ones(10, 10, dtype=torch.bool)  # nothing to interpolate from: the mean (0)
    assert road_impute(image, everything, neighbour_matrix(10, 10), noise=0.0).abs().max() == 0


@pytest.mark.parametrize("name", ["deletion", "insertion"])
def test_road_curve_equals_a_per_step_loop(name: str) -> None:
    gen = torch.Generator().manual_seed(2)
    model = LinearEvidence(torch.randn(12, 12, generator=gen))
    images, saliency = torch.randn(2, 1, 12, 12, generator=gen), torch.rand(2, 12, 12, generator=gen)
    targets = torch.tensor([1, 0])
    result = create_metric(name, substrate="road", road_noise=0.0, step=36, max_batch=3)(
        model, images, targets, saliency)
    ranks, matrix = unit_ranks(saliency, "pixel", 1), neighbour_matrix(12, 12)
    for i in range(2):
        expected = []
        for count in (0, 36, 72, 108, 144):
            removed = ranks[i] < count if name == "deletion" else ranks[i] >= count
            image = road_impute(images[i], removed, matrix, noise=0.0)
            expected.append(model(image[None]).softmax(1)[0, targets[i]].item())
        np.testing.assert_allclose(result.curves[i], expected, rtol=1e-5)


def test_road_noise_is_seeded_per_image_and_step() -> None:
    gen = torch.Generator().manual_seed(3)
    model = LinearEvidence(torch.randn(12, 12, generator=gen))
    images, saliency = torch.randn(3, 1, 12, 12, generator=gen), torch.rand(3, 12, 12, generator=gen)
    targets = torch.tensor([1, 1, 0])
    metric = create_metric("deletion", substrate="road", step=36)
    together = metric(model, images, targets, saliency).curves
    alone = metric(model, images[1:2], targets[1:2], saliency[1:2]).curves
    np.testing.assert_array_equal(together[1], alone[0])
    noiseless = create_metric("deletion", substrate="road", step=36, road_noise=0.0)(model, images, targets, saliency)
    assert not np.array_equal(together, noiseless.curves)


def test_noise_substrate_in_each_images_range_and_deterministic() -> None:
    images = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    images[1] *= 5
    noise = substrate_for(images, "noise")
    low, high = images.amin(dim=(2, 3), keepdim=True), images.amax(dim=(2, 3), keepdim=True)
    assert ((noise >= low) & (noise <= high)).all()
    assert noise[1].std() > 3 * noise[0].std()  # the range follows the image
    assert torch.equal(noise[2:3], substrate_for(images[2:3], "noise"))  # batch-invariant
    assert not torch.equal(noise, substrate_for(images, "noise", seed=1))


def test_short_names_mean_the_substrate_option() -> None:
    specs = method_specs(["deletion[blur]", "insertion[road]", "morf[noise]", "deletion"], "metric",
                          ["deletion", "insertion", "morf"])
    assert [(s.name, s.label, s.options) for s in specs] == [
        ("deletion", "deletion[blur]", {"substrate": "blur"}), ("insertion", "insertion[road]", {"substrate": "road"}),
        ("morf", "morf[noise]", {"substrate": "noise"}), ("deletion", "deletion", {})]
    with pytest.raises(UserError, match="substrate must be one of"):
        create_metric("deletion", substrate="fog")
    with pytest.raises(UserError, match="unknown metric"):
        method_specs(["delection[blur]"], "metric", ["deletion"])


def test_short_names_on_the_command_line() -> None:
    from iabench.suites import apply_overrides

    for text in ("metrics=deletion[blur],morf[noise]", "metrics=[deletion[blur], morf[noise]]",
                 'metrics=["deletion[blur]", "morf[noise]"]'):
        assert apply_overrides({}, [text]) == {"metrics": ["deletion[blur]", "morf[noise]"]}, text


def test_reliability_suite_scores_every_substrate() -> None:
    from iabench.suites import load_suite

    suite, default = load_suite("reliability"), load_suite("faithfulness-full")
    assert [e.name for e in suite.explainers] == [e.name for e in default.explainers]
    assert [v.name for v in suite.models] == [v.name for v in default.models] and suite.seeds == default.seeds
    for name in ("insertion", "deletion", "morf"):
        substrates = [m.options.get("substrate", "zeros") for m in suite.metrics if m.name == name]
        assert substrates == ["zeros", "blur", "black", "noise", "road"], name


def test_one_removed_pixel_is_the_weighted_mean_of_its_neighbours() -> None:
    """ROAD's weights by hand: 1/6 for the four direct neighbours, 1/12 for the four diagonal ones."""
    image = torch.arange(27, dtype=torch.float64).reshape(3, 3, 3) ** 2  # not linear: the mean is not the centre
    removed = torch.zeros(3, 3, dtype=torch.bool)
    removed[1, 1] = True
    out = road_impute(image, removed, neighbour_matrix(3, 3), noise=0.0)
    direct = image[:, 0, 1] + image[:, 1, 0] + image[:, 1, 2] + image[:, 2, 1]
    diagonal = image[:, 0, 0] + image[:, 0, 2] + image[:, 2, 0] + image[:, 2, 2]
    torch.testing.assert_close(out[:, 1, 1], direct / 6 + diagonal / 12)
    assert torch.equal(out[:, ~removed], image[:, ~removed])
    assert road_impute(image, torch.zeros(3, 3, dtype=torch.bool), neighbour_matrix(3, 3)) is image


def test_road_noise_is_added_to_the_removed_pixels_only_with_the_documented_default() -> None:
    image = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    removed = torch.rand(4, 5, generator=torch.Generator().manual_seed(1)) < 0.5
    matrix = neighbour_matrix(4, 5)
    clean = road_impute(image, removed, matrix, noise=0.0)
    noisy = road_impute(image, removed, matrix, generator=torch.Generator().manual_seed(2))  # default 0.01
    draw = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(noisy, clean + 0.01 * draw * removed)


def test_blur_mean_and_zeros_substrates_by_hand() -> None:
    images = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    kind = "".join(["bl", "ur"])  # a name built at run time, as read from a file: not an interned literal
    # the kernel (11) shrinks to the largest odd size below the image's side, 5 here
    torch.testing.assert_close(substrate_for(images, kind), gaussian_blur(images, [5, 5], [5.0, 5.0]))
    assert torch.equal(substrate_for(images, "mean"), torch.zeros(2, 3, 6, 6))  # no mean given: 0
    mean = substrate_for(images, "mean", mean_value=[1.0, 2.0, 3.0])
    assert torch.equal(mean[1, :, 4, 5], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(substrate_for(images, "zeros"), torch.zeros_like(images))
