"""A suite's explainers and metrics (iabench.suites.methods): the short names of protocols (substrate, unit),
explainer arguments, and what a metric scores (its first N images, its explainers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import LinearEvidence

from iabench.api import evaluate
from iabench.errors import UserError
from iabench.metrics import create_metric
from iabench.models import create_model, get_preset
from iabench.substrates import black_value, substrate_for
from iabench.suites import apply_overrides, load_suite
from iabench.suites.methods import method_specs

NAMES = ["deletion", "insertion", "morf"]


def test_bracket_words_are_a_substrate_a_unit_or_both_in_any_order() -> None:
    specs = method_specs(["deletion[patch]", "deletion[blur,patch]", "insertion[patch,black]", "morf[road]"],
                         "metric", NAMES)
    assert [(s.name, s.label, s.options) for s in specs] == [
        ("deletion", "deletion[patch]", {"unit": "patch"}),
        ("deletion", "deletion[blur,patch]", {"substrate": "blur", "unit": "patch"}),
        ("insertion", "insertion[patch,black]", {"unit": "patch", "substrate": "black"}),
        ("morf", "morf[road]", {"substrate": "road"})]
    with pytest.raises(UserError, match="names two substrates"):
        method_specs(["deletion[blur,noise]"], "metric", NAMES)
    with pytest.raises(UserError, match="names two units"):
        method_specs(["deletion[pixel,patch]"], "metric", NAMES)
    with pytest.raises(UserError, match="did you mean 'patch'"):
        method_specs(["deletion[blur,pach]"], "metric", NAMES)


def test_protocol_lists_on_the_command_line() -> None:
    raw = apply_overrides({}, ["metrics=deletion[blur,patch],insertion[patch],morf",
                               "explainers=ia-vit,shuffled:ia-vit,integrated-gradients[blur]"])
    assert raw == {"metrics": ["deletion[blur,patch]", "insertion[patch]", "morf"],
                   "explainers": ["ia-vit", "shuffled:ia-vit", "integrated-gradients[blur]"]}
    suite = load_suite("faithfulness", ["metrics=deletion[blur,patch],insertion[patch]"])
    assert [(m.label, m.options) for m in suite.metrics] == [
        ("deletion[blur,patch]", {"substrate": "blur", "unit": "patch"}), ("insertion[patch]", {"unit": "patch"})]


def test_black_is_a_black_pixel_under_the_datas_normalisation() -> None:
    assert black_value([0.2860], [0.3530]) == [pytest.approx(-0.8102, abs=1e-4)]
    images = torch.randn(2, 3, 4, 4)
    substrate = substrate_for(images, "black", black=[-1.0, -2.0, 0.5])
    assert torch.equal(substrate[:, 1], torch.full((2, 4, 4), -2.0))
    assert torch.equal(substrate[:, 2], torch.full((2, 4, 4), 0.5))
    with pytest.raises(ValueError, match="needs black_value"):
        substrate_for(images, "black")
    metric = create_metric("deletion", substrate="black")
    metric.fit_to_data([0.5], [0.25])
    assert metric.options.black_value == [-2.0]
    given = create_metric("deletion", substrate="black", black_value=[-3.0])
    given.fit_to_data([0.5], [0.25])  # a value given in the suite stays
    assert given.options.black_value == [-3.0]


def test_deletion_under_black_ends_on_the_black_image() -> None:
    gen = torch.Generator().manual_seed(0)
    model = LinearEvidence(torch.randn(28, 28, generator=gen) * 0.1)
    images, saliency = torch.randn(3, 1, 28, 28, generator=gen), torch.rand(3, 28, 28, generator=gen)
    targets = torch.tensor([1, 0, 1])
    result = create_metric("deletion", substrate="black", black_value=[-0.81], unit="patch", patch_size=4)(
        model, images, targets, saliency)
    black = torch.full((1, 1, 28, 28), -0.81)
    expected_end = model(black).softmax(1)[0, targets].numpy()
    np.testing.assert_allclose(result.curves[:, -1], expected_end, rtol=1e-6)
    np.testing.assert_allclose(result.curves[:, 0], model(images).softmax(1)[torch.arange(3), targets].numpy(),
                               rtol=1e-6)
    assert result.curves.shape == (3, 50)  # 49 patches, one per step, and the untouched image


def test_a_metric_scores_its_first_samples_and_its_explainers_only() -> None:
    torch.manual_seed(0)
    model = create_model("vit", get_preset("vit-tiny-fmnist").model).eval()
    data = (torch.randn(7, 1, 28, 28), torch.randint(0, 10, (7,)))
    frame = evaluate(model, data, explainers=["attention", "random"], samples=7, batch_size=3, metrics=[
        "deletion", {"name": "insertion", "samples": 4, "explainers": ["random"]}, "accuracy",
        {"name": "accuracy", "label": "accuracy-first-2", "samples": 2}])
    counts = frame.groupby(["explainer", "metric"]).size().to_dict()
    assert counts == {("attention", "deletion"): 7, ("random", "deletion"): 7, ("random", "insertion"): 4,
                      ("-", "accuracy"): 7, ("-", "accuracy-first-2"): 2}
    first = sorted(frame[frame.metric == "deletion"]["sample"].unique())[:4]
    assert sorted(frame[frame.metric == "insertion"]["sample"]) == first  # the first four of the same draw
    with pytest.raises(UserError, match="samples must be a whole number"):
        method_specs([{"name": "deletion", "samples": 0}], "metric", NAMES)
    with pytest.raises(UserError, match="did you mean 'random'"):
        load_suite("faithfulness", ["explainers=ia-vit,random",
                                    'metrics=[{name: deletion, explainers: [randm]}]'])
