"""The Python API: `iabench.explain` and `iabench.evaluate` against direct calls of the explainers and metrics,
the three kinds of data it takes, and the example of docs/python-api.md run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from torch.utils.data import DataLoader, TensorDataset

import iabench
from iabench.baselines import create_explainer
from iabench.config import ModelConfig
from iabench.errors import UserError
from iabench.metrics import create_metric
from iabench.models import create_model

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def tiny_vit() -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=10,
                             embed_dim=48, depth=2).eval()


def tiny_data(n: int = 12) -> TensorDataset:
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(n, 1, 16, 16, generator=generator)
    return TensorDataset(images, torch.randint(0, 10, (n,), generator=generator))


def test_explain_is_the_registered_explainer() -> None:
    model, (images, labels) = tiny_vit(), tiny_data(4).tensors
    expected = create_explainer("integrated-gradients", model).attribute(images, labels)
    assert torch.equal(iabench.explain(model, images, "integrated-gradients", labels), expected)
    assert torch.equal(iabench.explain(model, images, "attention", 3),
                       create_explainer("attention", model).attribute(images, torch.full((4,), 3)))


def test_evaluate_scores_equal_direct_metric_calls() -> None:
    model, data = tiny_vit(), tiny_data()
    scores = iabench.evaluate(model, data, explainers=["attention"], metrics=["deletion", "accuracy"], samples=None,
                              batch_size=5)
    assert list(scores.columns) == ["run", "seed", "model", "explainer", "metric", "sample", "value"]
    images, labels = data.tensors
    saliency = create_explainer("attention", model).attribute(images, labels)
    deletion = create_metric("deletion")(model, images, labels, saliency).scores
    ours = scores[scores.metric == "deletion"].sort_values("sample")
    assert ours["sample"].tolist() == list(range(12))
    np.testing.assert_allclose(ours.value, deletion, rtol=1e-6, atol=1e-7)  # chunks of 5 change nothing
    with torch.no_grad():
        correct = (model(images).argmax(1) == labels).float().numpy()
    assert scores[scores.metric == "accuracy"].sort_values("sample").value.tolist() == correct.tolist()


def test_dataset_loader_and_tuple_give_the_same_rows() -> None:
    model, data = tiny_vit(), tiny_data()
    kwargs = dict(explainers=["random"], metrics=["insertion"], samples=None)
    rows = iabench.evaluate(model, data, **kwargs)
    for other in (DataLoader(data, batch_size=5), data.tensors):
        assert iabench.evaluate(model, other, **kwargs).equals(rows)
    drawn = iabench.evaluate(model, data, explainers=["random"], metrics=["insertion"], samples=5, seed=3)
    expected = torch.randperm(12, generator=torch.Generator().manual_seed(3))[:5].sort().values.tolist()
    assert sorted(set(drawn["sample"])) == expected  # the main job's draw


def test_ia_vit_only_methods_follow_the_model() -> None:
    data = tiny_data(4)
    plain = iabench.evaluate(tiny_vit(), data, explainers=["ia-vit", "random"], metrics=["agreement"], samples=None)
    assert plain.empty  # the interpreter and its agreement need an IA-ViT
    torch.manual_seed(0)
    ia_vit = create_model("ia-vit", ModelConfig(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2))
    rows = iabench.evaluate(ia_vit, data, explainers=["ia-vit"], metrics=["agreement", "deletion"], samples=None)
    assert set(zip(rows.explainer, rows.metric)) == {("-", "agreement"), ("-", "agreement-kl"),
                                                     ("-", "agreement-inter-accuracy"), ("ia-vit", "deletion")}


def test_bad_options_are_user_errors() -> None:
    with pytest.raises(UserError, match="no option batchsize"):
        iabench.evaluate(tiny_vit(), tiny_data(), batchsize=4)
    with pytest.raises(UserError, match="unknown metric 'delet'"):
        iabench.evaluate(tiny_vit(), tiny_data(), metrics=["delet"])


def test_the_documented_example_runs_as_written() -> None:
    text = API_PAGE.read_text(encoding="utf-8")
    code = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)[1]
    printed, namespace = io.StringIO(), {}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/python-api.md", "exec"), namespace)  # noqa: S102 - the documented example
    assert printed.getvalue().endswith("torch.Size([1, 32, 32])\n")
    counts = namespace["scores"].groupby(["explainer", "metric"]).size().to_dict()
    assert counts == {("-", "accuracy"): 8, ("attention", "deletion"): 8, ("attention", "insertion[blur]"): 8,
                      ("integrated-gradients", "deletion"): 8, ("integrated-gradients", "insertion[blur]"): 8}


def test_images_the_model_cannot_take_are_one_line() -> None:
    model, images = tiny_vit(), tiny_data(4).tensors[0]
    cases = {(4, 1, 28, 28): "images of shape (4, 1, 28, 28), but the model takes (B, 1, 16, 16): resize them",
             (4, 3, 16, 16): "images of shape (4, 3, 16, 16), but the model takes (B, 1, 16, 16)",
             (1, 16, 16): "images of shape (1, 16, 16), but the model takes (B, 1, 16, 16)"}
    for shape, said in cases.items():
        for call in (lambda x: iabench.explain(model, x, "saliency"),
                     lambda x: iabench.evaluate(model, (x, torch.zeros(len(x), dtype=torch.long)))):
            with pytest.raises(UserError) as refused:
                call(torch.zeros(shape))
            assert str(refused.value).startswith(said) and "\n" not in str(refused.value)
    rgb = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, num_classes=10, embed_dim=48, depth=2)
    with pytest.raises(UserError, match=r"takes \(B, 3, 16, 16\).*images.repeat\(1, 3, 1, 1\)"):
        iabench.explain(rgb.eval(), images, "saliency")
    assert iabench.explain(model, images, "saliency").shape == (4, 16, 16)  # the right shape still passes
