"""Metrics: curves equal the one-forward-per-step definition, known answers, Quantus parity, bad maps."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import quantus
import torch
from support import LinearEvidence, gradient_explain
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from iabench.contract import Needs
from iabench.errors import OptionError
from iabench.metrics import METRICS, create_metric
from iabench.metrics._base import Metric, check_metric
from iabench.metrics._perturbation import area, perturbation_curves, step_counts, unit_ranks
from iabench.models import create_model, get_preset
from iabench.seeding import numpy_seeded_by


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
    assert METRICS.create("deletion", auc="mean").options.auc == "mean"


def test_morf_lerf_are_reverse_orders(model, batch) -> None:
    images, targets, saliency = batch
    morf = create_metric("morf")(model, images, targets, saliency)
    lerf = create_metric("lerf")(model, images, targets, saliency)
    reverse = create_metric("morf")(model, images, targets, -saliency)
    np.testing.assert_allclose(lerf.curves, reverse.curves, atol=1e-6)
    assert morf.curves.shape == (3, 11) and morf.curve_x[1] == pytest.approx(5 / 49)




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
    # the linear model has no ViT patch size: give it
    morf, lerf = create_metric("morf", patch_size=4), create_metric("lerf", patch_size=4)
    assert (morf(model, images, targets, evidence).scores < morf(model, images, targets, -evidence).scores).all()
    assert (lerf(model, images, targets, evidence).scores > lerf(model, images, targets, -evidence).scores).all()


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
    assert set(result.extra) == {"kl", "inter-accuracy"}
    kl = torch.nn.functional.kl_div(out.inter_logits.log_softmax(1), out.logits.log_softmax(1), log_target=True,
                                    reduction="none").sum(1)  # KL(predictor || interpreter)
    np.testing.assert_allclose(result.extra["kl"], kl.double().numpy(), rtol=1e-5, atol=1e-7)
    assert (result.extra["kl"] > 0).all()  # random interpreter weights: it does not simulate the predictor exactly
    np.testing.assert_array_equal(result.extra["inter-accuracy"], expected)  # labels = the predictor's answers
    wrong = (labels + 1) % 10
    assert create_metric("accuracy")(model, images, wrong).scores.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="IA-ViT"):
        create_metric("agreement")(create_model("vit", get_preset("vit-tiny-fmnist").model), images, labels)


def test_options_are_checked_when_the_metric_is_created() -> None:
    from iabench.errors import UserError

    for name, options, message in [("deletion", {"substrat": "blur"}, "did you mean 'substrate'"),
                                   ("insertion", {"substrate": "white"}, "zeros, blur, mean, black"),
                                   ("morf", {"auc": "sum"}, "trapezoid, mean"),
                                   ("pixel-flipping", {"features_per_step": 3}, "did you mean 'features_in_step'")]:
        with pytest.raises(UserError, match=message):
            create_metric(name, **options)
    assert create_metric("deletion", substrate="blur", blur_sigma=2.0).options.blur_sigma == 2.0


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
    ours = create_metric(name)(model, images, targets, saliency).scores
    with numpy_seeded_by(images, targets):  # the draws the adapter gives Quantus
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




def test_sanity_and_robustness_metrics_equal_quantus_direct(model, batch) -> None:
    from iabench.metrics._quantus import numpy_explain_func

    images, targets, _ = batch
    saliency = gradient_explain(model, images, targets)
    wrapped = numpy_explain_func(gradient_explain, torch.device("cpu"))
    cases = [("random-logit", "RandomLogit", {"num_classes": 10}),
             ("mprt", "MPRT", {"skip_layers": True, "return_last_correlation": True}),
             ("max-sensitivity", "MaxSensitivity", {"nr_samples": 10, "lower_bound": 0.2})]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls, kwargs in cases:
            torch.manual_seed(0)
            ours = create_metric(name)(model, images, targets, saliency, explain_fn=gradient_explain).scores
            torch.manual_seed(0)
            with numpy_seeded_by(images, targets):  # the draws the adapter gives Quantus
                direct = _direct(cls, kwargs, model, images, targets, saliency, explain=wrapped)
            np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6, err_msg=name)
            assert ours.shape == (3,) and np.isfinite(ours).all(), name
    with pytest.raises(ValueError, match="explain function"):
        create_metric("mprt")(model, images, targets, saliency)


def test_road_and_irof_equal_quantus_direct(model, batch) -> None:
    images, targets, saliency = batch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(0)
        ours = create_metric("road", percentages=[10, 50, 90])(model, images, targets, saliency).scores
        np.random.seed(0)
        direct = []
        for i in range(3):  # Quantus' ROAD returns only batch aggregates: one call per image, as ours
            out = _direct("ROAD", {"percentages": [10, 50, 90]}, model, images[i:i + 1], targets[i:i + 1],
                          saliency[i:i + 1])
            direct.append(np.mean(list(out.values())))
        np.testing.assert_allclose(ours, direct, rtol=1e-6)
        assert set(np.round(ours * 3, 6)) <= {0.0, 1.0, 2.0, 3.0}  # mean of three 0/1 accuracies
        ours = create_metric("irof")(model, images, targets, saliency).scores
        direct = _direct("IROF", {"return_aggregate": False}, model, images, targets, saliency)
        np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6)


def test_constant_saliency_in_quantus_metrics_scores_nan_with_a_warning(model, batch) -> None:
    images, targets, saliency = batch
    masks = torch.zeros(3, 28, 28, dtype=torch.bool)
    masks[:, 6:18, 10:22] = True
    bad = saliency.clone()
    bad[0] = 0.0  # all zero
    bad[2] = 0.5  # constant
    with pytest.warns(RuntimeWarning, match="constant"):
        scores = create_metric("pointing-game")(model, images, targets, bad, masks=masks).scores
    # Quantus alone would give 1.0 for a constant map (its maximum is everywhere, so also in the mask)
    assert np.isnan(scores[[0, 2]]).all()
    assert scores[1] == _direct("PointingGame", {}, model, images[1:2], targets[1:2], saliency[1:2],
                                masks=masks[1:2])[0]
    with pytest.warns(RuntimeWarning, match="constant"):
        gini = create_metric("sparseness")(model, images, targets, bad).scores
    assert np.isnan(gini[0]) and gini[2] == pytest.approx(0.0) and 0 < gini[1] < 1  # Gini of a constant map: 0
    with pytest.warns(RuntimeWarning, match="constant"):  # an all-zero batch (Quantus asserts) -> all NaN
        assert np.isnan(create_metric("monotonicity-correlation")(model, images, targets,
                                                                  torch.zeros(3, 28, 28)).scores).all()


@pytest.fixture(scope="module")
def rgb() -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 3-channel micro ViT (16 px, patch 4) and a batch: pixels move with all their channels."""
    import dataclasses

    torch.manual_seed(0)
    config = dataclasses.replace(get_preset("vit-tiny-fmnist").model, img_size=16, embed_dim=32, depth=2,
                                 num_heads=2, in_chans=3)
    gen = torch.Generator().manual_seed(2)
    return (create_model("vit", config).eval(), torch.randn(2, 3, 16, 16, generator=gen), torch.tensor([1, 4]),
            torch.rand(2, 16, 16, generator=gen))


@pytest.mark.parametrize("name,substrate,unit,step", [
    ("deletion", "blur", "pixel", 7), ("insertion", "mean", "pixel", 16), ("deletion", "zeros", "patch", 2)])
def test_rgb_curves_equal_the_naive_definition(rgb, name, substrate, unit, step) -> None:
    model, images, targets, saliency = rgb
    mean = [0.1, -0.2, 0.3]
    result = create_metric(name, substrate=substrate, unit=unit, step=step, mean_value=mean)(model, images, targets,
                                                                                            saliency)
    for i in range(2):
        sub = {"zeros": torch.zeros_like(images[i]),
               "blur": gaussian_blur(images[i:i + 1], [11, 11], [5.0, 5.0])[0],
               "mean": torch.tensor(mean).view(3, 1, 1).expand(3, 16, 16)}[substrate]
        curve, x = naive_curve(model, images[i], targets[i].item(), saliency[i], name == "insertion", sub, step, unit)
        np.testing.assert_allclose(result.curves[i], curve, atol=1e-5)
        np.testing.assert_allclose(result.curve_x, x, atol=1e-12)


def test_rgb_quantus_adapter(rgb) -> None:
    model, images, targets, saliency = rgb
    ours = create_metric("pixel-flipping")(model, images, targets, saliency).scores  # step = W = 16 features
    direct = _direct("PixelFlipping", {"features_in_step": 16, "return_auc_per_sample": True}, model, images,
                     targets, saliency)
    np.testing.assert_allclose(ours, np.asarray(direct, dtype=float), rtol=1e-6)
    ours = create_metric("region-perturbation")(model, images, targets, saliency).scores  # the model's patch, 4
    direct = _direct("RegionPerturbation", {"patch_size": 4, "regions_evaluation": 20, "order": "morf"}, model,
                     images, targets, saliency)
    np.testing.assert_allclose(ours, [np.mean(c) for c in direct], rtol=1e-6)
    for name in ("road", "irof"):  # Quantus 0.6 fails on them with C > 1: a clear error instead
        with pytest.raises(ValueError, match="one-channel"):
            create_metric(name)(model, images, targets, saliency)


def test_step_options(model, batch) -> None:
    images, targets, saliency = batch
    quarter = create_metric("deletion", step=0.25)(model, images, targets, saliency)
    np.testing.assert_allclose(quarter.curve_x, [0, 0.25, 0.5, 0.75, 1])
    same = create_metric("deletion", step=196)(model, images, targets, saliency)
    np.testing.assert_allclose(quarter.curves, same.curves)
    default = create_metric("deletion")(model, images, targets, saliency)
    assert default.curves.shape == (3, 29)  # one row's worth (28 pixels) per step + the unperturbed image
    for bad in (0, 2.5, -1, "28"):
        with pytest.raises(ValueError, match="step"):
            create_metric("deletion", step=bad)
    with pytest.raises(ValueError, match="not both"):
        create_metric("deletion", step=28, fraction=0.1)
    two = create_metric("morf", step=2)(model, images, targets, saliency)  # replaces MoRF's default 10% steps
    np.testing.assert_allclose(two.curve_x, [*range(0, 49, 2), 49] / np.float64(49))
    with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\)"):
        create_metric("deletion")(model, images, targets, saliency[:, :7, :7])
    with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\)"):
        create_metric("sparseness")(model, images, targets, saliency[:2])


def test_every_metric_declares_its_contract() -> None:
    for name in METRICS.names():
        cls = METRICS.get(name)
        assert cls.direction in ("higher", "lower") and cls.reference and cls.__doc__, name
    # only the interpreter-predictor agreement needs an IA-ViT; every other metric scores any classifier
    assert {name for name in METRICS.names() if METRICS.get(name).needs.ia_vit} == {"agreement"}
    # the localisation metrics need ground-truth masks (foreground-mass takes them when given)
    needs_masks = {name for name in METRICS.names() if METRICS.get(name).needs.masks}
    assert needs_masks == {"pointing-game", "relevance-mass-accuracy", "relevance-rank-accuracy", "auc", "evidence-auc",
                           "evidence-pointing"}
    # the sanity and robustness checks re-explain a changed model or input
    needs_explain = {name for name in METRICS.names() if METRICS.get(name).needs.explain_fn}
    assert needs_explain == {"max-sensitivity", "mprt", "random-logit", "conservation"}


def test_saliency_can_be_passed_by_keyword(model, batch) -> None:
    images, targets, saliency = batch
    metric = create_metric("deletion")
    by_keyword = metric(model, images, targets, saliency=saliency)
    np.testing.assert_array_equal(by_keyword.scores, metric(model, images, targets, saliency).scores)


# Options the curve tests above leave at one value, each pinned on a known answer (these tests came from
# mutants of metrics/_perturbation.py that the suite let through).

def test_patch_unit_moves_one_patch_per_step_by_default(model, batch) -> None:
    images, targets, saliency = batch
    result = create_metric("deletion", unit="patch")(model, images, targets, saliency)
    np.testing.assert_allclose(result.curve_x, np.arange(50) / 49)  # 49 patches of 4x4, one at a time
    curve, _ = naive_curve(model, images[0], targets[0].item(), saliency[0], False, torch.zeros_like(images[0]), 1,
                           "patch")
    np.testing.assert_allclose(result.curves[0], curve, atol=1e-5)


def test_accuracy_score_is_top1_correctness_per_step(model, batch) -> None:
    images, targets, saliency = batch
    choice = "".join(["accu", "racy"])  # built at run time, as when read from a suite file: not interned
    ranks = unit_ranks(saliency, "pixel", 1)
    counts = [0, 392, 784]
    curves = perturbation_curves(model, images, torch.zeros_like(images), ranks, counts, targets, score=choice)
    for step, count in enumerate(counts):
        moved = (ranks < count)[:, None]
        with torch.no_grad():
            predicted = model(torch.where(moved, torch.zeros_like(images), images)).argmax(1)
        np.testing.assert_array_equal(curves[:, step], (predicted == targets).double().numpy())
    probability = perturbation_curves(model, images, torch.zeros_like(images), ranks, counts, targets)
    assert not np.isin(probability, [0.0, 1.0]).all()  # the default is the probability, not 0/1


def test_unknown_auc_names_are_refused() -> None:
    curves, x = np.array([[1.0, 0.0]]), np.array([0.0, 1.0])
    assert area(curves, x, "trapezoid") == pytest.approx(0.5) and area(curves, x, "mean") == pytest.approx(0.5)
    for bad in ("median", "auc", "weighted"):  # sorts after and before 'mean', after 'trapezoid'
        with pytest.raises(ValueError, match="auc must be"):
            area(curves, x, bad)


def test_substrate_defaults_are_the_documented_ones(model, batch) -> None:
    images, targets, saliency = batch
    for substrate, explicit, changed in (("noise", {"seed": 0}, {"seed": 1}),
                                         ("road", {"seed": 0, "road_noise": 0.01}, {"seed": 0, "road_noise": 0.5})):
        def curves(substrate=substrate, **options):
            return create_metric("deletion", substrate=substrate, step=196, **options)(
                model, images, targets, saliency).curves

        default = curves()
        np.testing.assert_array_equal(default, curves(**explicit))
        assert not np.allclose(default, curves(**changed), atol=1e-4)  # the option does change the curves


def test_bad_fraction_and_shape_messages(model, batch) -> None:
    images, targets, saliency = batch
    for bad in (1.5, 0, -0.2, "0.1"):
        with pytest.raises(ValueError, match="metric deletion: option fraction (= .* is out of range; it must be in "
                                             r"\(0, 1\]|must be a float, got '0.1')$"):
            create_metric("deletion", fraction=bad)
    with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\) = \(3, 28, 28\)"):
        create_metric("deletion")(model, images, targets, saliency[:2])
    for bad in (True, "28"):  # a bool is not a step, even though Python counts it as an int
        with pytest.raises(ValueError, match="step must be"):
            create_metric("deletion", step=bad)
    with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\)"):  # a 5-D batch is no image batch
        create_metric("deletion")(model, images[:, None], targets, saliency)
    bad_map = saliency.clone()
    bad_map[2, 0, 5] = float("inf")
    with pytest.raises(ValueError, match=r"sample\(s\) \[2\] has NaN or inf"):
        create_metric("deletion")(model, images, targets, bad_map)


def test_option_strings_read_from_a_file_work(model, batch) -> None:
    # options read from YAML are not interned strings: compare them by value, never by identity
    images, targets, saliency = batch
    patch, pixel = "".join(["pat", "ch"]), "".join(["pix", "el"])
    np.testing.assert_array_equal(create_metric("deletion", unit=patch)(model, images, targets, saliency).curves,
                                  create_metric("deletion", unit="patch")(model, images, targets, saliency).curves)
    np.testing.assert_array_equal(create_metric("deletion", unit=pixel)(model, images, targets, saliency).curves,
                                  create_metric("deletion")(model, images, targets, saliency).curves)


def test_cuda_batch_budget_from_the_vit_or_the_image(model, monkeypatch) -> None:
    # on CUDA the images per forward come from the memory one image needs: attention maps + token copies for
    # a ViT, the image size for any other model (checked here without a GPU: the budget function is replaced)
    from types import SimpleNamespace

    import iabench.metrics._curve_engine as engine
    from iabench.metrics._perturbation import default_max_batch

    monkeypatch.setattr(engine, "batch_size_for", lambda device, default, per_image: (default, per_image))
    images = type("CudaImages", (), {"device": SimpleNamespace(type="cuda"),
                                     "__getitem__": lambda self, i: torch.zeros(1, 28, 28)})()
    tokens, width, heads = 50, 64, 4  # vit-tiny-fmnist: 49 patches + CLS, width 64, 4 heads
    assert default_max_batch(model, images) == (128, 4 * (heads * tokens * tokens + 8 * tokens * width))
    assert default_max_batch(nn.Linear(2, 2), images) == (128, 4 * (8 * 784 * 8))
    assert default_max_batch(model, torch.zeros(1, 1, 28, 28)) == 64  # CPU: the measured optimum


def _metric_class(**attrs: object) -> type:
    complete = {"name": "made-up", "family": "faithfulness", "direction": "lower", "reference": "someone 2024",
                "description": "what it measures"}
    return type("MadeUp", (Metric,), {**complete, **attrs})


@pytest.mark.parametrize(("attrs", "problem"), [
    ({"family": "magic"}, "family 'magic' is not one of faithfulness, localisation, robustness, complexity, sanity, "
                          "model, agreement, diagnostics"),
    ({"direction": "up"}, "direction must be one of higher, lower"),
    ({"extras": {"gap": ("up", "a gap")}}, "direction must be one of higher, lower"),
    ({"description": ""}, "it needs a description (one line, no trailing period) and a reference"),
    ({"description": "what it measures."}, "it needs a description (one line, no trailing period) and a reference"),
    ({"reference": ""}, "it needs a description (one line, no trailing period) and a reference"),
    ({"needs": Needs(target=True)}, "a metric's needs are ia_vit, saliency, masks, explain_fn and decomposition"),
    ({"Options": dict}, "its Options must be a frozen dataclass subclassing iabench.contract.Options"),
    ({"Options": "not a class"}, "its Options must be a frozen dataclass subclassing iabench.contract.Options"),
])
def test_the_registry_refuses_a_metric_that_breaks_the_contract(attrs, problem) -> None:
    check_metric(_metric_class())  # the complete declaration passes
    with pytest.raises(TypeError, match=re.escape(f"metric made-up: {problem}")):
        check_metric(_metric_class(**attrs))
    with pytest.raises(TypeError, match=re.escape("direction must be one of higher, lower; it needs a description")):
        check_metric(_metric_class(direction="up", reference=""))  # every problem, joined


def test_the_curve_metrics_and_the_titles() -> None:
    assert {n for n in METRICS.names() if METRICS.get(n).curve} == {"deletion", "insertion", "lerf", "morf"}
    assert create_metric("deletion").title() == "Deletion AUC"
    assert _metric_class()().title() == "made-up"  # no display name: the name


def test_options_are_parsed_by_the_class_before_any_instance() -> None:
    assert METRICS.get("deletion").parse_options({"step": 7}).step == 7
    assert METRICS.get("entropy").parse_options({"level": "pixel"}).level == "pixel"  # the base class's
    with pytest.raises(OptionError, match="metric deletion: step must be a whole number of units >= 1"):
        METRICS.get("deletion").parse_options({"step": 0})


def test_the_black_substrate_takes_the_datas_normalisation() -> None:
    black = create_metric("deletion", substrate="".join(["bl", "ack"]))  # made at run time, as a suite's YAML is
    black.fit_to_data([0.5, 0.25], [0.25, 0.5])
    assert black.options.black_value == [-2.0, -0.5]  # a black pixel is -mean / std
    assert black.protocol()["black_value"] == [-2.0, -0.5]
    given = create_metric("deletion", substrate="black", black_value=[-1.0])
    given.fit_to_data([0.5], [0.25])
    assert given.options.black_value == [-1.0]  # a value the suite gives is kept
    zeros = create_metric("deletion")
    zeros.fit_to_data([0.5], [0.25])
    assert zeros.options.black_value is None and "black_value" not in zeros.protocol()


def test_a_negative_fractional_step_is_refused() -> None:
    with pytest.raises(OptionError, match=re.escape("or a fraction in (0, 1), got -0.5")):
        METRICS.get("deletion").parse_options({"step": -0.5})


def test_step_counts_by_hand() -> None:
    assert step_counts(5) == [0, 1, 2, 3, 4, 5]  # no step given: one unit a step
    assert step_counts(7, 3) == [0, 3, 6, 7]  # a shorter last step
    assert step_counts(10, fraction=0.25) == [0, 2, 5, 8, 10]  # round(2.5) = 2, round(7.5) = 8
