"""One source for the descriptions: the registered classes. The tables of docs/explainers.md and docs/metrics.md
equal ``iabench.catalog``'s output, every class is described, families are the allowed ones, and the declared
signedness holds on real maps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from iabench import baselines, metrics
from iabench.baselines import EXPLAINERS, create_explainer
from iabench.catalog import dataset_table, explainer_table, metric_rows, metric_table
from iabench.cli import main
from iabench.data import DATASETS, dataset_class
from iabench.metrics import METRICS
from iabench.models import create_model, get_preset
from iabench.models.families import FAMILIES

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXPLAINER_FAMILIES = {"intrinsic", "attention", "relevance", "gradient", "perturbation", "control"}
METRIC_FAMILIES = {"faithfulness", "localisation", "robustness", "complexity", "sanity", "model", "agreement",
                   "diagnostics"}
EXPECTED_FAMILY = {"irof": "faithfulness", "road": "faithfulness", "mprt": "sanity", "random-logit": "sanity",
                   "accuracy": "model", "auc": "localisation", "max-sensitivity": "robustness",
                   "sparseness": "complexity", "agreement": "agreement", "entropy": "diagnostics"}
# maps with meaningful negative values; every other explainer's maps are never negative
SIGNED = {"lrp", "attnlrp", "lrp-captum-naive", "integrated-gradients", "integrated-gradients[blur]",
          "integrated-gradients[uniform]", "integrated-gradients[mean]", "input-x-gradient", "occlusion"}
TINY = get_preset("vit-tiny-fmnist").model


def page_tables(page: str) -> list[str]:
    """The markdown tables (runs of lines starting with '|') of one page of docs/."""
    text = (DOCS / page).read_text(encoding="utf-8")
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append("\n".join(current))
            current = []
    return tables


def cells(row: str) -> list[str]:
    """A table row's cells, split at the '|' that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_docs_hold_exactly_the_registry_tables() -> None:
    assert page_tables("explainers.md") == [explainer_table()]
    assert page_tables("metrics.md") == [metric_table()]
    assert page_tables("datasets.md")[1:] == [dataset_table()]  # the first: where each dataset's files are


def test_tables_have_one_row_per_class_and_extra_sorted_by_family() -> None:
    rows = explainer_table().splitlines()
    assert cells(rows[0]) == ["name", "family", "signed", "resolution", "what it computes", "passes per image",
                              "reference"]
    body = [cells(r) for r in rows[2:]]
    assert sorted(r[0].strip("`") for r in body) == EXPLAINERS.names()
    assert all(len(r) == 7 and r[2] in {"yes", "no"} and r[3] in {"pixel", "patch"} and r[5] for r in body)
    assert [r[1] for r in body] == sorted((r[1] for r in body), key=baselines.FAMILIES.index)
    rows = metric_table().splitlines()
    assert cells(rows[0]) == ["name", "family", "direction", "what it measures", "reference"]
    body = {cells(r)[0].strip("`"): cells(r) for r in rows[2:]}
    assert set(body) == set(METRICS.names()) | {"agreement-kl", "agreement-inter-accuracy", "conservation-softmax"}
    assert all(len(r) == 5 and r[2] in {"↑", "↓"} for r in body.values())
    families = [cells(r)[1] for r in rows[2:]]
    assert families == sorted(families, key=metrics.FAMILIES.index)
    assert body["agreement-kl"][2] == "↓" and body["agreement-inter-accuracy"][2] == "↑"
    assert body["agreement-kl"][3] == r"KL(predictor \|\| interpreter) of the two softmax outputs"  # escaped
    assert r"\|s\|" in body["entropy"][3]


def described(registry, families: set[str]) -> list:
    """Every registered class, each checked: a one-line description without a final period, a reference, a
    family among ``families``."""
    classes = []
    for name in registry.names():
        cls = registry.get(name)
        assert cls.description and cls.reference.strip(), name
        assert "\n" not in cls.description and not cls.description.endswith("."), name
        assert cls.family in families, (name, cls.family)
        classes.append(cls)
    return classes


def test_every_explainer_is_described() -> None:
    assert set(baselines.FAMILIES) == EXPLAINER_FAMILIES
    for cls in described(EXPLAINERS, EXPLAINER_FAMILIES):
        assert isinstance(cls.signed, bool), cls.name
        assert cls.cost and "\n" not in cls.cost, cls.name
    assert {n for n in EXPLAINERS.names() if EXPLAINERS.get(n).signed} == SIGNED


def test_every_metric_and_extra_is_described_with_an_allowed_family() -> None:
    assert set(metrics.FAMILIES) == METRIC_FAMILIES
    for cls in described(METRICS, METRIC_FAMILIES):
        name = cls.name
        assert cls.direction in {"higher", "lower"}, name
        for suffix, (direction, description) in cls.extras.items():
            assert direction in {"higher", "lower"}, (name, suffix)
            assert description and description != cls.description, (name, suffix)
    for name, family in EXPECTED_FAMILY.items():
        assert METRICS.get(name).family == family, name
    extras = {row["name"]: row for row in metric_rows() if row["name"].startswith("agreement-")}
    assert extras["agreement-kl"]["direction"] == "lower"
    assert extras["agreement-kl"]["description"].startswith("KL(predictor || interpreter)")
    assert extras["agreement-inter-accuracy"]["direction"] == "higher"
    assert "interpreter" in extras["agreement-inter-accuracy"]["description"]


@pytest.fixture(scope="module")
def random_models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    vit = create_model("vit", TINY).eval()
    torch.manual_seed(1)
    return {"vit": vit, "ia-vit": create_model("ia-vit", TINY).eval()}


@pytest.mark.parametrize("name", EXPLAINERS.names())
def test_declared_signedness_holds_on_random_models_and_inputs(name: str, random_models) -> None:
    cls = EXPLAINERS.get(name)
    options = {"integrated-gradients": {"n_steps": 4}, "shuffled": {"of": "rollout"}}.get(name, {})
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(3, TINY.in_chans, TINY.img_size, TINY.img_size, generator=generator)
    targets = torch.tensor([0, 1, 2])
    masks = torch.rand(3, TINY.img_size, TINY.img_size, generator=generator) > 0.5  # read by an oracle only
    for kind, model in random_models.items():
        if cls.needs.ia_vit and kind != "ia-vit":
            continue
        saliency = create_explainer(name, model, **options).attribute(images, targets, masks)
        if cls.signed:  # on these random inputs every signed method has negative values (checked for each)
            assert (saliency < 0).any(), f"{name} on {kind}: declared signed but no negative value"
        else:
            assert (saliency >= 0).all(), f"{name} on {kind}: declared unsigned, min {saliency.min().item()}"


def test_list_markdown_prints_the_three_tables(capsys) -> None:
    assert main(["list", "--markdown"]) == 0
    out, _ = capsys.readouterr()
    assert out == f"{explainer_table()}\n\n{metric_table()}\n\n{dataset_table()}\n"


def test_list_prints_family_signedness_direction_and_description(capsys) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr()[0].splitlines()
    heads = [next(i for i, line in enumerate(lines) if line.startswith(h)) for h in ("explainers:", "metrics:",
                                                                                   "datasets:")]
    explainer_lines, metric_lines = lines[heads[0] + 1:heads[1]], lines[heads[1] + 1:heads[2]]
    assert len(explainer_lines) == len(EXPLAINERS) and len(metric_lines) == len(metric_rows())
    for name in EXPLAINERS.names():
        cls = EXPLAINERS.get(name)
        line = next(line for line in explainer_lines if line.split()[0] == name)
        assert line.split()[1:4] == [cls.family, "signed" if cls.signed else "unsigned", cls.resolution], line
        assert line.endswith(cls.description), line
    for row in metric_rows():
        line = next(line for line in metric_lines if line.split()[0] == row["name"])
        assert line.split()[1:3] == [row["family"], row["direction"]], line
        assert line.endswith(row["description"]), line
    families_at = next(i for i, line in enumerate(lines) if line.startswith("model families:"))
    dataset_lines, family_lines = lines[heads[2] + 1:families_at], lines[families_at + 1:]
    assert [line.split()[0] for line in dataset_lines] == DATASETS.names()
    declared = ["timm", "hf", "torchvision", "timm-features"]  # the families' declared order
    assert [line.split()[0] for line in family_lines] == declared
    hf = FAMILIES.get("hf")
    assert family_lines[1] == f"  hf           {hf.form}; serves {hf.serves}; refuses {hf.refuses}"
    evidence = next(line for line in dataset_lines if line.split()[0] == "evidence-fashion-mnist")
    assert "task=motif, canvas=56" in evidence and "evidence, motif, garment" in evidence
    assert evidence.endswith(dataset_class("evidence-fashion-mnist").description)
