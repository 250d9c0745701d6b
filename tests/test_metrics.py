"""Metrics: curves equal the one-forward-per-step definition, known answers, Quantus parity, bad maps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import quantus
import torch
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from iabench.metrics import METRICS, create_metric
from iabench.models import create_model, get_preset


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("ia-vit", get_preset("vit-tiny-fmnist").model).eval()


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(3, 1, 28, 28, generator=gen)
    targets = torch.tensor([0, 3, 7])
    saliency = torch.rand(3, 28, 28, generator=gen)
    saliency[0, :4, :4] = 0.5  # ties, broken by raster order
    return images, targets, saliency


def naive_curve(model, image, target, saliency, insertion, substrate, step, unit="pixel", patch=4, descending=True):
    """The definition, one forward per step: order units by saliency (stable), move `step` at a time."""
    if unit == "patch":
        scores = torch.nn.functional.avg_pool2d(saliency[None, None].double(), patch).flatten()
        order = torch.sort(scores, descending=descending, stable=True).indices.tolist()
        cols = image.shape[-1] // patch
        unit_pixels = [[(r * patch + i) * image.shape[-1] + c * patch + j for i in range(patch) for j in range(patch)]
                       for r, c in ((u // cols, u % cols) for u in order)]
    else:
        order = torch.sort(saliency.flatten().double(), descending=descending, stable=True).indices.tolist()
        unit_pixels = [[u] for u in order]
    start, finish = (substrate, image) if insertion else (image, substrate)
    current = start.clone().reshape(image.shape[0], -1)
    values, x = [], []
    n = len(unit_pixels)
    for k in list(range(0, n, step)) + [n]:
        if x and k == x[-1] * n:
            continue
        moved = [p for unit in unit_pixels[:k] for p in unit]
        current = start.clone().reshape(image.shape[0], -1)
        current[:, moved] = finish.reshape(image.shape[0], -1)[:, moved]
        with torch.no_grad():
            prob = model(current.reshape(1, *image.shape)).softmax(1)[0, target].item()
        values.append(prob)
        x.append(k / n)
    return np.array(values), np.array(x)


@pytest.mark.parametrize("name", ["insertion", "deletion"])
@pytest.mark.parametrize("substrate", ["zeros", "blur", "mean"])
@pytest.mark.parametrize("unit,step", [("pixel", 28), ("pixel", 100), ("patch", 1), ("patch", 3)])
def test_curves_equal_the_naive_definition(model, batch, name, substrate, unit, step) -> None:
    images, targets, saliency = batch
    metric = create_metric(name, substrate=substrate, unit=unit, step=step, mean_value=[0.3], max_batch=7)
    result = metric(model, images, targets, saliency)
    for i in range(images.shape[0]):
        if substrate == "zeros":
            sub = torch.zeros_like(images[i])
        elif substrate == "blur":
            sub = gaussian_blur(images[i:i + 1], [11, 11], [5.0, 5.0])[0]
        else:
            sub = torch.full_like(images[i], 0.3)
        curve, x = naive_curve(model, images[i], targets[i].item(), saliency[i], name == "insertion", sub, step, unit)
        np.testing.assert_allclose(result.curves[i], curve, atol=1e-5)
        np.testing.assert_allclose(result.curve_x, x, atol=1e-12)
        assert result.scores[i] == pytest.approx(np.trapezoid(curve, x), abs=1e-5)
    if unit == "pixel" and step == 100:
        assert result.curve_x[-2] == pytest.approx(700 / 784) and result.curve_x[-1] == 1.0  # 784 = 7*100 + 84


def test_mean_auc_option(model, batch) -> None:
    images, targets, saliency = batch
    trapezoid = create_metric("deletion")(model, images, targets, saliency)
    mean = create_metric("deletion", auc="mean")(model, images, targets, saliency)
    np.testing.assert_allclose(mean.scores, trapezoid.curves.mean(1))
    assert METRICS.create("deletion", auc="mean").auc == "mean"


def test_morf_lerf_are_reverse_orders(model, batch) -> None:
    images, targets, saliency = batch
    morf = create_metric("morf")(model, images, targets, saliency)
    lerf = create_metric("lerf")(model, images, targets, saliency)
    reverse = create_metric("morf")(model, images, targets, -saliency)
    np.testing.assert_allclose(lerf.curves, reverse.curves, atol=1e-6)
    assert morf.curves.shape == (3, 11) and morf.curve_x[1] == pytest.approx(5 / 49)


class LinearEvidence(nn.Module):
    """logit_1 = sum of w * x, logit_0 = 0: the evidence for class 1 is exactly w * x."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evidence = (x[:, 0] * self.weights).flatten(1).sum(1)
        return torch.stack([torch.zeros_like(evidence), evidence], dim=1)


def test_true_evidence_beats_its_reverse() -> None:
    gen = torch.Generator().manual_seed(0)
    weights = torch.randn(28, 28, generator=gen) * 0.05
    images = torch.rand(4, 1, 28, 28, generator=gen)
    model = LinearEvidence(weights)
    targets = torch.ones(4, dtype=torch.long)
    evidence = images[:, 0] * weights
    deletion = create_metric("deletion")
    good, bad = deletion(model, images, targets, evidence).scores, deletion(model, images, targets, -evidence).scores
    assert (good < bad).all()
    insertion = create_metric("insertion")
    good, bad = insertion(model, images, targets, evidence).scores, insertion(model, images, targets, -evidence).scores
    assert (good > bad).all()


def test_nan_saliency_is_an_error_and_constant_a_warning(model, batch) -> None:
    images, targets, saliency = batch
    bad = saliency.clone()
    bad[1, 3, 3] = float("nan")
    for name in ("deletion", "morf", "sparseness"):
        with pytest.raises(ValueError, match="NaN"):
            create_metric(name)(model, images, targets, bad)
    with pytest.warns(RuntimeWarning, match="constant"):
        zero = create_metric("deletion")(model, images, targets, torch.zeros_like(saliency))
    raster = create_metric("deletion")(model, images, targets,
                                       -torch.arange(784.0).reshape(1, 28, 28).expand(3, -1, -1))
    np.testing.assert_allclose(zero.curves, raster.curves)  # constant maps are taken in raster order


def test_accuracy_and_agreement(model, batch) -> None:
    images, _, _ = batch
    with torch.no_grad():
        out = model.forward_all(images, attention=False)
    labels = out.logits.argmax(1)
    assert create_metric("accuracy")(model, images, labels).scores.tolist() == [1.0, 1.0, 1.0]
    result = create_metric("agreement")(model, images, labels)
    expected = (out.logits.argmax(1) == out.inter_logits.argmax(1)).double().numpy()
    np.testing.assert_array_equal(result.scores, expected)
    assert (result.extra["kl"] >= 0).all() and set(result.extra) == {"kl", "inter-accuracy"}


def _direct(cls, kwargs, model, images, targets, saliency, masks=None, explain=None):
    call = dict(model=model, x_batch=images.numpy(), y_batch=targets.numpy(), a_batch=saliency.numpy()[:, None],
                channel_first=True, device="cpu")
    if masks is not None:
        call["s_batch"] = masks.numpy()[:, None].astype(np.float32)
    if explain is not None:
        call["explain_func"] = explain
        call["explain_func_kwargs"] = {}
    return getattr(quantus, cls)(**kwargs, disable_warnings=True, display_progressbar=False)(**call)


@pytest.mark.parametrize("name,cls,kwargs", [
    ("sparseness", "Sparseness", {}),
    ("complexity", "Complexity", {}),
    ("pixel-flipping", "PixelFlipping", {"features_in_step": 28, "return_auc_per_sample": True}),
    ("region-perturbation", "RegionPerturbation", {"patch_size": 4, "regions_evaluation": 20, "order": "morf"}),
    ("faithfulness-correlation", "FaithfulnessCorrelation", {"return_aggregate": False}),
    ("monotonicity-correlation", "MonotonicityCorrelation", {"features_in_step": 28, "nr_samples": 10}),
])
def test_quantus_backed_equal_quantus_direct(model, batch, name, cls, kwargs) -> None:
    images, targets, saliency = batch
    np.random.seed(0)
    ours = create_metric(name)(model, images, targets, saliency).scores
    np.random.seed(0)
    direct = _direct(cls, kwargs, model, images, targets, saliency)
    if name == "region-perturbation":
        direct = [np.mean(curve) for curve in direct]
    np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6, atol=1e-8)


def test_localisation_metrics_equal_quantus_direct(model, batch) -> None:
    images, targets, saliency = batch
    masks = torch.zeros(3, 28, 28, dtype=torch.bool)
    masks[:, 6:18, 10:22] = True
    for name, cls in (("pointing-game", "PointingGame"), ("relevance-mass-accuracy", "RelevanceMassAccuracy"),
                      ("relevance-rank-accuracy", "RelevanceRankAccuracy"), ("auc", "AUC")):
        ours = create_metric(name)(model, images, targets, saliency, masks=masks).scores
        direct = _direct(cls, {}, model, images, targets, saliency, masks=masks)
        np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6, err_msg=name)
    # a map equal to the mask localises perfectly
    perfect = create_metric("relevance-mass-accuracy")(model, images, targets, masks.float(), masks=masks).scores
    np.testing.assert_allclose(perfect, 1.0)


def test_sanity_metrics_equal_quantus_direct(model, batch) -> None:
    from iabench.baselines import create_explainer
    from iabench.metrics._quantus import numpy_explain_func

    images, targets, saliency = batch

    def explain(m, x, t):
        return create_explainer("saliency", m).attribute(x, t)

    saliency = explain(model, images, targets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(0)
        ours = create_metric("random-logit")(model, images, targets, saliency, explain_fn=explain).scores
        np.random.seed(0)
        direct = _direct("RandomLogit", {"num_classes": 10}, model, images, targets, saliency,
                         explain=numpy_explain_func(explain, torch.device("cpu")))
        np.testing.assert_allclose(ours, direct, rtol=1e-6)
        ours_mprt = create_metric("mprt")(model, images, targets, saliency, explain_fn=explain).scores
        direct_mprt = _direct("MPRT", {"skip_layers": True, "return_last_correlation": True}, model, images, targets,
                              saliency, explain=numpy_explain_func(explain, torch.device("cpu")))
        np.testing.assert_allclose(ours_mprt, np.asarray(direct_mprt, dtype=float), rtol=1e-6)
    assert len(ours_mprt) == 3 and np.isfinite(ours_mprt).all()


def test_every_metric_declares_its_contract() -> None:
    for name in METRICS.names():
        cls = METRICS.get(name)
        assert cls.direction in ("higher", "lower") and cls.reference and cls.__doc__, name
