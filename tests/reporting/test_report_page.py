"""The report's pieces with known answers: per-family tables (n/a reasons, controls apart, best bold), the
markdown renderer (images embedded, raw HTML escaped) and the texts taken from the registered classes."""

from __future__ import annotations

import base64

import pandas as pd

from iabench.baselines import EXPLAINERS
from iabench.metrics import FAMILIES as METRIC_FAMILIES
from iabench.metrics import METRICS
from iabench.records import explainer_records_of, metric_records_of
from iabench.refresh import explainer_records, metric_records
from iabench.reporting.markdown import markdown_table, renderer
from iabench.reporting.page.family_tables import FAMILIES, family_tables
from iabench.reporting.page.render import explainer_table, metric_lines
from iabench.reporting.run_files import RunRecords


def row(model, explainer, metric, mean, direction="higher", n_failed=0, n=10) -> dict:
    return dict(model=model, explainer=explainer, metric=metric, direction=direction, mean=mean, std=0.1,
                ci_low=mean - 0.1 if mean == mean else float("nan"), ci_high=mean + 0.1 if mean == mean else
                float("nan"), n=n, n_failed=n_failed, n_seeds=1, seed_ci_low=float("nan"),
                seed_ci_high=float("nan"), baseline_is_substrate=False)


SUMMARY = pd.DataFrame([
    row("ia-vit", "ia-vit", "deletion", 0.2, "lower"), row("ia-vit", "rollout", "deletion", 0.3, "lower"),
    row("vit", "rollout", "deletion", 0.25, "lower"), row("vit", "random", "deletion", 0.1, "lower"),
    row("ia-vit", "rollout", "insertion", float("nan"), n_failed=10, n=0), row("vit", "rollout", "insertion", 0.7),
    row("ia-vit", "-", "accuracy", 0.9), row("vit", "-", "accuracy", 0.8),
    row("ia-vit", "-", "agreement", 0.95)])
METRICS_INFO = metric_records({
    "deletion": {"name": "deletion", "direction": "lower"},
                "insertion": {"name": "insertion", "direction": "higher"},
                "accuracy": {"name": "accuracy"}, "agreement": {"name": "agreement", "needs_ia_vit": True}})
MODELS = {"ia-vit": {"kind": "ia-vit"}, "vit": {"kind": "vit"}}
EXPLAINERS_INFO = explainer_records({
    "ia-vit": {"name": "ia-vit"}, "rollout": {"name": "rollout"}, "random": {"name": "random"}})


def tables():
    return {t.anchor: t for t in family_tables(SUMMARY, RunRecords.read(METRICS_INFO, EXPLAINERS_INFO, MODELS))}


def texts(table) -> list[list[str]]:
    return [[cell.text for cell in r] for group in table.groups for r in group]


def test_one_table_per_family_and_level_in_the_family_order() -> None:
    assert list(tables()) == ["summary-faithfulness-explainers", "summary-model-models",
                              "summary-agreement-models"]


def test_cells_say_why_a_value_is_missing_and_controls_come_apart() -> None:
    faithfulness = tables()["summary-faithfulness-explainers"]
    assert [len(g) for g in faithfulness.groups] == [3, 1]  # random is a registered control: its own group
    rows = texts(faithfulness)
    assert rows[:3] == [["ia-vit", "ia-vit", "patch", "0.200 [0.100, 0.300]", "n/a: not run"],
                        ["ia-vit", "rollout", "patch", "0.300 [0.200, 0.400]", "failed (10 of 10)"],
                        ["vit", "rollout", "patch", "0.250 [0.150, 0.350]", "0.700 [0.600, 0.800]"]]
    assert rows[3] == ["vit", "random", "pixel", "0.100 [0.000, 0.200]", "n/a: not run"]  # map: the registry's
    agreement = tables()["summary-agreement-models"]
    assert texts(agreement) == [["ia-vit", "0.950 [0.850, 1.050]"], ["vit", "n/a: IA-ViT only"]]


def test_the_best_cell_follows_the_direction_and_the_sort_key_is_the_mean() -> None:
    faithfulness = tables()["summary-faithfulness-explainers"]
    cells = {(r[0].text, r[1].text): r[3] for group in faithfulness.groups for r in group}
    assert [k for k, c in cells.items() if c.bold] == [("vit", "random")]  # lower is better: 0.1, a control
    assert cells[("vit", "rollout")].value == 0.25 and not cells[("ia-vit", "rollout")].bold
    insertion = {(r[0].text, r[1].text): r[4] for group in faithfulness.groups for r in group}
    assert insertion[("ia-vit", "rollout")].value is None and insertion[("vit", "rollout")].bold
    assert [(label, arrow) for label, arrow, _ in faithfulness.columns] == [("deletion (zeros, pixel)", "↓"),
                                                                           ("insertion (zeros, pixel)", "↑")]
    assert faithfulness.columns[0][2] == METRICS.get("deletion").description  # header tooltip: the registry's


def test_markdown_version_keeps_controls_last_and_bolds_the_best() -> None:
    text = tables()["summary-faithfulness-explainers"].markdown().splitlines()
    assert text[0] == "| model | explainer | map | deletion (zeros, pixel) ↓ | insertion (zeros, pixel) ↑ |"
    assert text[-1] == "| vit | random | pixel | **0.100 [0.000, 0.200]** | n/a: not run |"


def test_every_metric_family_has_a_heading() -> None:
    assert set(METRIC_FAMILIES) <= set(FAMILIES)
    assert {METRICS.get(name).family for name in METRICS.names()} <= set(FAMILIES) - {"other"}


def test_renderer_embeds_linked_images_and_escapes_raw_html(tmp_path) -> None:
    (tmp_path / "plots").mkdir()
    payload = b"\x89PNG fake"
    (tmp_path / "plots" / "a.png").write_bytes(payload)
    html = renderer(tmp_path).render("![a](plots/a.png) ![b](https://example.org/b.png) <script>x</script> **y**")
    assert f'src="data:image/png;base64,{base64.b64encode(payload).decode()}"' in html
    assert 'src="https://example.org/b.png"' in html  # not a file of the run: left alone
    assert "<script>" not in html and "&lt;script&gt;" in html and "<strong>y</strong>" in html


def test_markdown_table_has_no_empty_cell() -> None:
    frame = pd.DataFrame({"a": ["x", ""], "b": [None, "p|q"]})
    assert markdown_table(frame).splitlines()[2:] == ["| x | n/a |", "| n/a | p\\|q |"]


def test_texts_come_from_the_run_records_alone() -> None:
    recorded = metric_records({"agreement": {"name": "agreement", "direction": "higher"}})
    lines = metric_lines(["agreement", "deletion"], metric_records_of({**recorded, "deletion": {"direction": "lower"}}))
    assert lines[0].startswith(f"**agreement** ↑: {METRICS.get('agreement').description}.")
    assert lines[1] == "**deletion** ↓: deletion."  # nothing recorded: the report does not ask the registry
    table = explainer_table(explainer_records_of({**explainer_records({"lrp": {"name": "lrp"}}),
                                                  "rollout": {"name": "rollout", "description": "given"}}))
    assert table.loc["lrp", "signed"] == "yes" and table.loc["rollout", "signed"] == "no"
    assert table.loc["lrp", "what it computes"] == EXPLAINERS.get("lrp").description
    assert table.loc["rollout", "what it computes"] == "given"


def test_curve_captions_come_from_the_run_records(tmp_path) -> None:
    from iabench.reporting.page.notes import figure_caption

    caption = figure_caption(tmp_path / "curves_deletion.png",
                             metric_records_of(metric_records({"deletion": {"name": "deletion"}})))
    assert caption == f"deletion: {METRICS.get('deletion').description}; a lower curve is better."
    stored = {"lerf[blur]": {"name": "lerf", "direction": "higher", "description": "as stored"}}
    expected = "lerf[blur]: as stored; a higher curve is better."
    assert figure_caption(tmp_path / "curves_lerf[blur].png", metric_records_of(stored)) == expected


def test_a_cell_whose_every_score_failed_counts_them_against_all() -> None:
    from iabench.reporting.summary import summarise

    results = pd.DataFrame([dict(run="r", seed=0, model="vit", explainer="rollout", metric="deletion", sample=s,
                                 value=float("nan")) for s in range(4)])
    summary = summarise(results, {"deletion": "lower"})  # n counts finite values: 0 here
    table = family_tables(summary, RunRecords.read({"deletion": {"name": "deletion"}},
                                                   explainer_records({"rollout": {"name": "rollout"}}), MODELS))[0]
    assert texts(table) == [["vit", "rollout", "patch", "failed (4 of 4)"]]


def test_cells_say_when_a_map_is_no_decomposition_or_an_extra_is_not_reported() -> None:
    summary = pd.DataFrame([row("vit", "attnlrp", "conservation", 0.3, "lower"),
                            row("vit", "attnlrp", "conservation-softmax", 0.2, "lower"),
                            row("vit", "lrp", "conservation", 0.1, "lower"), row("vit", "rollout", "deletion", 0.3)])
    metrics_info = {"deletion": {"name": "deletion", "family": "faithfulness"},
                    "conservation": {"name": "conservation", "family": "diagnostics", "needs_decomposition": True},
                    "conservation-softmax": {"name": "conservation", "family": "diagnostics",
                                             "needs_decomposition": True, "extra_of": "conservation"}}
    explainers_info = {"attnlrp": {"decomposes_logit": True}, "lrp": {"decomposes_logit": True},
                       "rollout": {"decomposes_logit": False}}
    records = RunRecords.read(metrics_info, explainers_info, MODELS)
    found = {t.anchor: t for t in family_tables(summary, records)}
    rows = {(r[0], r[1]): r[3:] for r in texts(found["summary-diagnostics-explainers"])}  # after model, explainer, map
    assert rows[("vit", "lrp")][1] == "n/a: not reported by this explainer"
    assert rows[("vit", "rollout")] == ["n/a: map does not decompose the logit"] * 2
