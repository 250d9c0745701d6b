"""Figures draw what their captions state: one style per explainer in the whole report, curves by family
(bands mean +- 1.96 SE), maps alone on an honest colour scale, training series only where they exist."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from iabench.records import MetricRecords
from iabench.records import explainer_records_of as typed
from iabench.reporting.figures import curves as curve_module
from iabench.reporting.figures import heatmaps, palette, plots

INFO = {"rollout": dict(name="rollout", family="attention", signed=False),
        "attention": dict(name="attention", family="attention", signed=False),
        "saliency": dict(name="saliency", family="gradient", signed=False),
        "integrated-gradients": dict(name="integrated-gradients", family="gradient", signed=True),
        "random": dict(name="random", family="control", signed=False),
        "centre": dict(name="centre", family="control", signed=False)}


@pytest.fixture
def closing():
    """Figures built by a test, closed afterwards."""
    figures: list = []
    yield figures
    for fig in figures:
        plots.plt.close(fig)


def _curves(labels, metrics=("deletion",), models=("vit",)) -> pd.DataFrame:
    rows = [dict(model=m, explainer=label, metric=metric, sample=s, x=x, value=(i + 1) * (1 - x) + 0.01 * s)
            for m in models for i, label in enumerate(labels) for metric in metrics for s in range(3)
            for x in (0.0, 0.5, 1.0)]
    return pd.DataFrame(rows)


# -- styles ------------------------------------------------------------------------------------------
def test_styles_are_unique_colour_blind_and_controls_alone_are_dashed() -> None:
    info = {f"m{i:02d}": dict(family="control" if i % 5 == 0 else "gradient") for i in range(20)}
    styles = palette.explainer_styles(typed(info))
    assert set(styles) == set(info)
    assert len({(s["color"], s["linestyle"]) for s in styles.values()}) == 20
    assert {s["color"] for s in styles.values()} <= set(palette.OKABE_ITO)
    for label, style in styles.items():
        assert (style["linestyle"] == "--") == (info[label]["family"] == "control"), label


def test_a_label_keeps_its_style_whatever_order_explainers_json_lists_it() -> None:
    reordered = dict(reversed(list(INFO.items())))
    assert palette.explainer_styles(typed(reordered)) == palette.explainer_styles(typed(INFO))


def test_labels_of_one_family_and_the_controls_get_distinct_colours() -> None:
    info = {f"{family}-{i}": dict(family=family) for family in ("attention", "gradient", "relevance")
            for i in range(4)} | {f"control-{i}": dict(family="control") for i in range(3)}
    styles = palette.explainer_styles(typed(info))
    for family in ("attention", "gradient", "relevance"):  # each shares a curve panel with the controls
        shown = [label for label in info if label.startswith((family, "control"))]
        assert len({styles[label]["color"] for label in shown}) == 7, family


def test_family_and_signedness_come_from_the_run_files_alone() -> None:
    # the report never reads the registries: what explainers.json lacks is unknown, not the class's
    info = {"occ": dict(name="occlusion"), "own": dict(name="occlusion", family="gradient", signed=True)}
    assert palette.explainer_family(typed(info), "occ") == "other" and not palette.explainer_signed(typed(info), "occ")
    assert palette.explainer_family(typed(info), "own") == "gradient" and palette.explainer_signed(typed(info), "own")


def test_families_follow_the_recorded_order_then_the_alphabet() -> None:
    info = {"a": dict(family="relevance", family_rank=2), "b": dict(family="attention", family_rank=1),
            "c": dict(family="intrinsic", family_rank=0)}
    assert palette.family_order({"relevance", "attention", "intrinsic", "zeta", "beta"}, typed(info)) == [
        "intrinsic", "attention", "relevance", "beta", "zeta"]


# -- curves ------------------------------------------------------------------------------------------
def test_curve_band_is_the_mean_plus_minus_1_96_standard_errors(closing) -> None:
    values = {0.0: [1.0, 0.8, 0.9, 0.5], 1.0: [0.2, 0.0, 0.1, 0.3]}
    curves = pd.DataFrame([dict(model="vit", explainer="rollout", metric="deletion", sample=i, x=x, value=v)
                           for x, vs in values.items() for i, v in enumerate(vs)])
    closing.append(fig := curve_module._curve_figure(curves, "deletion", typed(INFO), MetricRecords()))
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [np.mean(values[0.0]), np.mean(values[1.0])])
    band = ax.collections[0].get_paths()[0].vertices
    for x, vs in values.items():
        half = 1.96 * np.std(vs, ddof=1) / np.sqrt(len(vs))
        at_x = band[np.isclose(band[:, 0], x), 1]
        np.testing.assert_allclose([at_x.min(), at_x.max()], [np.mean(vs) - half, np.mean(vs) + half])


def test_curve_panels_hold_one_family_plus_the_dashed_controls(closing) -> None:
    closing.append(fig := curve_module._curve_figure(_curves(list(INFO), models=("ia-vit", "vit")), "deletion",
                                                     typed(INFO), MetricRecords()))
    assert len(fig.axes) == 4  # rows: ia-vit, vit; columns: attention, gradient (no column for the controls)
    shown = {ax.get_title(): {line.get_label(): line for line in ax.lines} for ax in fig.axes}
    assert set(shown["vit: attention"]) == {"rollout", "attention", "random", "centre"}
    assert set(shown["ia-vit: gradient"]) == {"saliency", "integrated-gradients", "random", "centre"}
    for lines in shown.values():
        for label, line in lines.items():
            assert (line.get_linestyle() == "--") == (INFO[label]["family"] == "control"), label


def test_a_label_has_one_colour_in_every_curve_figure(closing) -> None:
    data = _curves(list(INFO), metrics=("deletion", "insertion"))
    colours = []
    for metric, labels in (("deletion", list(INFO)), ("insertion", ["saliency", "random"])):
        part = data[(data.metric == metric) & data.explainer.isin(labels)]
        closing.append(fig := curve_module._curve_figure(part, metric, typed(INFO), MetricRecords()))
        colours.append({line.get_label(): to_hex(line.get_color()) for ax in fig.axes for line in ax.lines})
    styles = palette.explainer_styles(typed(INFO))
    for label in ("saliency", "random"):
        assert colours[0][label] == colours[1][label] == styles[label]["color"].lower()


def test_curve_plots_writes_one_file_pair_per_metric(tmp_path) -> None:
    paths = plots.curve_plots(_curves(["rollout", "random"], metrics=("morf", "lerf")), tmp_path, typed(INFO))
    assert sorted(p.name for p in paths) == ["curves_lerf.pdf", "curves_lerf.png", "curves_morf.pdf",
                                             "curves_morf.png"]


def test_bar_chart_has_one_legend_of_the_models_above_the_panels(closing, monkeypatch) -> None:
    monkeypatch.setattr(plots, "save_figure", lambda fig, folder, name: closing.append(fig) or [name])
    summary = pd.DataFrame([dict(model=m, explainer=e, metric=metric, mean=0.5, ci_low=0.4, ci_high=0.6,
                                 direction="lower") for m in ("ia-vit", "vit") for e in ("rollout", "random")
                            for metric in ("deletion", "morf")])
    assert plots.auc_bars(summary, None, ["deletion", "morf"]) == ["auc_bars"]
    fig = closing[0]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ia-vit", "vit"]
    assert all(ax.get_legend() is None for ax in fig.axes)


# -- heatmaps ----------------------------------------------------------------------------------------
def _heatmap_figure(maps: dict, info: dict):
    images = np.full((1, 1, 2, 2), 0.5)
    return heatmaps._heatmap_figure(images, np.array([3]), {k: np.asarray(v, float)[None] for k, v in maps.items()},
                                    "vit", typed(info))


def _colour_bar_labels(fig) -> set[str]:
    return {ax.get_ylabel() for ax in fig.axes if hasattr(ax, "_colorbar")}


def test_a_signed_map_is_drawn_alone_on_a_diverging_scale_centred_at_zero(closing) -> None:
    closing.append(fig := _heatmap_figure({"integrated-gradients": [[-2, 1], [0, 4]]}, INFO))
    image_ax, map_ax = fig.axes[:2]
    assert len(map_ax.images) == 1  # the map alone, not over the image
    drawn = map_ax.images[0]
    assert drawn.norm.vmin == -drawn.norm.vmax == -1
    np.testing.assert_allclose(drawn.get_array(), [[-0.5, 0.25], [0, 1]])
    assert drawn.get_cmap().name == heatmaps.SIGNED_CMAP == "RdBu_r"
    assert map_ax.get_title().replace("\n", "") == "integrated-gradients" and image_ax.get_title() == "image"
    assert _colour_bar_labels(fig) == {heatmaps.COLORBAR_LABELS[True]}


def test_a_signed_map_is_scaled_by_its_largest_magnitude_even_a_negative_one(closing) -> None:
    info = {"lrp": dict(family="relevance", signed=True)}
    closing.append(fig := _heatmap_figure({"lrp": [[-4, 1], [0, 2]]}, info))
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), [[-1, 0.25], [0, 0.5]])


def test_an_unsigned_map_starts_at_zero_on_a_sequential_scale(closing) -> None:
    closing.append(fig := _heatmap_figure({"saliency": [[-2, 1], [0, 4]], "integrated-gradients": [[1, 1], [1, 1]]},
                                          INFO))
    titles = {ax.get_title().replace("\n", ""): ax for ax in fig.axes}
    drawn = titles["saliency"].images[0]
    assert (drawn.norm.vmin, drawn.norm.vmax) == (0, 1) and drawn.get_cmap().name == heatmaps.UNSIGNED_CMAP
    np.testing.assert_allclose(drawn.get_array(), [[0, 0.25], [0, 1]])  # negatives clipped to 0
    assert _colour_bar_labels(fig) == set(heatmaps.COLORBAR_LABELS.values())


def test_unsigned_maps_alone_get_one_colour_bar_and_nan_or_zero_maps_draw_zeros(closing) -> None:
    closing.append(fig := _heatmap_figure({"saliency": [[np.nan, np.nan], [np.nan, np.nan]],
                                           "rollout": [[0, 0], [0, 0]]}, INFO))
    for ax in fig.axes[1:3]:
        np.testing.assert_array_equal(ax.images[0].get_array(), np.zeros((2, 2)))
    assert _colour_bar_labels(fig) == {heatmaps.COLORBAR_LABELS[False]}


# -- training ----------------------------------------------------------------------------------------
TRAINING = pd.DataFrame(dict(model=["ia-vit", "ia-vit", "vit", "vit"], seed=0, epoch=[1, 2, 1, 2],
                             loss=[3.0, 2.0, 2.0, 1.5], ce=[2.0, 1.5, 2.0, 1.5], kd=[0.1, 0.1, np.nan, np.nan],
                             align=[0.8, 0.5, np.nan, np.nan], val_acc=[0.2, 0.3, 0.25, 0.35],
                             val_inter_acc=[0.1, 0.2, np.nan, np.nan], val_agreement=[0.3, 0.4, np.nan, np.nan]))


def test_training_band_is_the_range_over_seeds(closing) -> None:
    training = pd.DataFrame(dict(model="vit", seed=[0, 1, 2, 0, 1, 2], epoch=[1, 1, 1, 2, 2, 2],
                                 loss=[2.0, 2.6, 2.3, 1.0, 1.4, 1.1]))
    closing.append(fig := plots._training_figure(training))
    band = fig.axes[0].collections[0].get_paths()[0].vertices
    for epoch, low, high in ((1, 2.0, 2.6), (2, 1.0, 1.4)):
        at_epoch = band[np.isclose(band[:, 0], epoch), 1]
        np.testing.assert_allclose([at_epoch.min(), at_epoch.max()], [low, high])


def test_each_model_panel_lists_only_the_series_it_records(closing) -> None:
    closing.append(fig := plots._training_figure(TRAINING))
    legends = {ax.get_title(): [t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes}
    assert legends == {"training loss terms - ia-vit": ["loss", "ce", "kd", "align"],
                       "validation accuracy / agreement - ia-vit": ["val_acc", "val_inter_acc", "val_agreement"],
                       "training loss terms - vit": ["loss", "ce"],
                       "validation accuracy / agreement - vit": ["val_acc"]}
    colours = {(ax.get_title().rsplit(" - ", 1)[1], line.get_label()): line.get_color() for ax in fig.axes
               for line in ax.lines}
    assert colours["vit", "ce"] == colours["ia-vit", "ce"] and colours["vit", "loss"] == colours["ia-vit", "loss"]
    assert colours["ia-vit", "ce"] != colours["ia-vit", "loss"]
