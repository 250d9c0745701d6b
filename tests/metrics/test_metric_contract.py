"""One contract suite run on every registered metric, as the explainers have theirs: one score per image (and one
curve per image for a curve metric), a NaN only with a warning that names the metric, and the declared needs honoured
(a metric refuses to score without what it declares, and scores without what it does not)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from iabench.contract import Context, FunctionExplainer
from iabench.metrics import METRICS, create_metric
from iabench.models import create_model, get_preset

# options that keep each metric's cost small; the contract does not depend on them
FAST = {"max-sensitivity": {"nr_samples": 2}, "faithfulness-correlation": {"nr_runs": 4, "subset_size": 16},
        "monotonicity-correlation": {"nr_samples": 2, "features_in_step": 16},
        "pixel-flipping": {"features_in_step": 16}, "region-perturbation": {"patch_size": 4, "regions_evaluation": 3},
        "road": {"percentages": [10, 50]}}
CONFIG = dataclasses.replace(get_preset("vit-tiny-fmnist").model, img_size=16, patch_size=4, embed_dim=32, depth=2,
                             num_heads=2)


def gradient(model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    images = images.detach().clone().requires_grad_(True)
    model(images).gather(1, targets[:, None]).sum().backward()
    return images.grad.abs().amax(1)


@pytest.fixture(scope="module")
def setting():
    torch.manual_seed(0)
    models = {kind: create_model(kind, CONFIG).eval() for kind in ("vit", "ia-vit")}
    generator = torch.Generator().manual_seed(1)
    images, targets = torch.randn(3, 1, 16, 16, generator=generator), torch.tensor([1, 2, 3])
    saliency = torch.rand(3, 16, 16, generator=generator)
    saliency[0] = 0.0  # nothing to rank: a metric that cannot score it says so
    masks = torch.zeros(3, 16, 16, dtype=torch.bool)
    masks[:, 4:12, 4:12] = True
    return models, images, targets, saliency, masks


def context(setting, name: str, kind: str = "ia-vit", **without: bool) -> Context:
    """What the metric declares it needs, less what ``without`` names; rank correlation gets its reference."""
    models, images, targets, saliency, masks = setting
    needs = METRICS.get(name).needs
    given = dict(saliency=saliency if needs.saliency else None, masks=masks if needs.masks else None,
                 explainer=FunctionExplainer(gradient) if needs.explain_fn else None,
                 reference=FunctionExplainer(gradient) if name == "rank-correlation" else None)
    return Context(models[kind], images, targets, **{k: None if without.get(k) else v for k, v in given.items()})


@pytest.mark.parametrize("name", METRICS.names())
def test_one_score_per_image_and_a_nan_only_with_a_warning(setting, name: str) -> None:
    metric = create_metric(name, **FAST.get(name, {}))
    for kind in ("ia-vit",) if metric.needs.ia_vit else ("ia-vit", "vit"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = metric.score(context(setting, name, kind))
        assert result.scores.shape == (3,) and result.scores.dtype == np.float64, (name, kind)
        if metric.curve:
            assert result.curves.shape[0] == 3 and result.curve_x.shape == (result.curves.shape[1],)
        assert np.isfinite(result.scores[1:]).all(), (name, kind)  # two ordinary maps: two numbers
        said = [str(w.message) for w in caught if str(w.message).startswith(f"{name}:")]
        if np.isnan(result.scores[0]):  # the all-zero map: NaN is allowed, never silently
            assert said, f"{name} on {kind}: a NaN score without a warning naming the metric"
        for key, values in result.extra.items():
            assert np.asarray(values).shape == (3,), (name, key)


@pytest.mark.parametrize("name", METRICS.names())
def test_declared_needs_are_honoured(setting, name: str) -> None:
    metric = create_metric(name, **FAST.get(name, {}))
    needs = metric.needs
    for field, declared in (("saliency", needs.saliency), ("masks", needs.masks), ("explainer", needs.explain_fn)):
        if declared:  # refused without it, in one line naming the metric
            with pytest.raises(ValueError, match=f"^{name} "):
                metric.score(context(setting, name, **{field: True}))
    if needs.ia_vit:
        with pytest.raises((TypeError, ValueError), match=f"^{name} needs an IA-ViT"):
            metric.score(context(setting, name, "vit"))
    if not needs.saliency:  # scores the model alone
        _, images, targets, _, _ = setting
        models = setting[0]
        assert metric.score(Context(models["ia-vit"], images, targets)).scores.shape == (3,)
