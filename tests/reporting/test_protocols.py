"""The report's protocol sections (iabench.reporting.protocols), from a hand-made summary with known answers."""

from __future__ import annotations

import pandas as pd

from iabench.records import explainer_records_of, metric_records_of
from iabench.refresh import explainer_records, metric_records
from iabench.reporting.protocols import control_markdown, unit_markdown, with_protocols

# what a run recorded, as the report reads it
METRICS_INFO = metric_records_of(metric_records({
    "deletion": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "pixel"},
    "deletion[patch]": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "patch"},
    "insertion": {"name": "insertion", "direction": "higher", "substrate": "zeros", "unit": "pixel"},
    "accuracy": {"name": "accuracy", "direction": "higher", "substrate": None}}))
EXPLAINERS_INFO = explainer_records_of(explainer_records({
    "ia-vit": {"family": "intrinsic", "resolution": "patch"}, "saliency": {"family": "gradient", "resolution": "pixel"},
    "random": {"family": "control", "resolution": "pixel"},
    "random-patch": {"family": "control", "resolution": "patch"}}))
MEANS = {  # (explainer, metric) -> mean, on model m
    ("ia-vit", "deletion"): 0.30, ("random-patch", "deletion"): 0.40, ("random", "deletion"): 0.25,
    ("saliency", "deletion"): 0.20, ("ia-vit", "insertion"): 0.50, ("random-patch", "insertion"): 0.42,
    ("random", "insertion"): 0.45, ("saliency", "insertion"): 0.40,
    ("ia-vit", "deletion[patch]"): 0.22, ("random-patch", "deletion[patch]"): 0.38,
    ("random", "deletion[patch]"): 0.41, ("saliency", "deletion[patch]"): 0.31}


def summary() -> pd.DataFrame:
    rows = [dict(model="m", explainer=e, metric=k, mean=v) for (e, k), v in MEANS.items()]
    return pd.DataFrame(rows + [dict(model="m", explainer="-", metric="accuracy", mean=0.9)])


def test_each_explainer_beside_the_control_of_its_own_resolution() -> None:
    text = control_markdown(summary(), METRICS_INFO, EXPLAINERS_INFO)
    lines = text.splitlines()
    assert lines[0] == ("| model | explainer | map | control | deletion (zeros, pixel) | deletion[patch] (zeros, "
                        "patch) | insertion (zeros, pixel) |")
    # ia-vit: deletion 0.40 - 0.30 = +0.10 better than random-patch, 0.25 - 0.30 = -0.05 against pixel noise
    assert lines[2] == "| m | ia-vit | patch | random-patch | +0.100 (-0.050) | +0.160 (+0.190) | +0.080 (+0.050) |"
    assert lines[3] == "| m | saliency | pixel | random | +0.050 | +0.100 | -0.050 |"  # its control: random
    assert lines[-1] == "Against pixel noise instead, 1 of 3 patch-level cells change sign."


def test_the_unit_section_ranks_within_the_model_under_each_unit() -> None:
    text = unit_markdown(summary(), METRICS_INFO, EXPLAINERS_INFO)
    assert text.startswith("**deletion, zeros** (deletion vs deletion[patch]; rank 1 = best within the model")
    # pixel unit: saliency 0.20 (1), random 0.25 (2), ia-vit 0.30 (3), random-patch 0.40 (4);
    # patch unit: ia-vit 0.22 (1), saliency 0.31 (2), random-patch 0.38 (3), random 0.41 (4)
    assert "| m | ia-vit | patch | 0.300 | 0.220 | -0.080 | 3 → 1 |" in text
    assert "| m | random | pixel | 0.250 | 0.410 | +0.160 | 2 → 4 |" in text
    assert "patch maps +1.5 places on average; pixel maps -1.5 places on average" in text  # (2 + 1) / 2 each way
    assert unit_markdown(summary()[summary().metric != "deletion[patch]"], METRICS_INFO, EXPLAINERS_INFO) == ""


def test_summary_rows_carry_their_protocol_and_map() -> None:
    out = with_protocols(summary(), METRICS_INFO, EXPLAINERS_INFO).set_index(["explainer", "metric"])
    assert out.loc[("ia-vit", "deletion[patch]"), ["substrate", "unit", "resolution"]].tolist() == [
        "zeros", "patch", "patch"]
    assert out.loc[("-", "accuracy"), ["substrate", "unit", "resolution"]].tolist() == ["", "", ""]
