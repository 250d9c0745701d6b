"""The report's first figure (iabench.reporting.figures.headline) from a hand-made summary with known answers: which
model and explainers it shows, in what order, with which interval, the controls as bands, the interpreter marked, its
alt text; and in report.html under "What it says"."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from matplotlib.axes import Axes
from support import models_json, write_run

from iabench.records import metric_records_of
from iabench.refresh import metric_records
from iabench.reporting import build_report
from iabench.reporting.figures.headline import headline_figure
from iabench.reporting.summary import SUMMARY_COLUMNS

METRICS = metric_records_of(metric_records({
    "deletion[patch]": {"name": "deletion", "direction": "lower", "unit": "patch"},
    "insertion": {"name": "insertion", "direction": "higher"}}))


def summary(n_seeds: int = 1) -> pd.DataFrame:
    """ia-vit's explainers on deletion[patch]: mean, bootstrap interval +-0.01, seed interval +-0.03."""
    means = {"ia-vit": 0.30, "random-patch": 0.40, "shuffled:ia-vit": 0.41, "rollout": 0.20, "random": 0.35,
             "attention": 0.33}
    rows = [dict(model="ia-vit", explainer=e, metric="deletion[patch]", direction="lower", mean=m, std=0.1,
                 ci_low=m - 0.01, ci_high=m + 0.01, n=200, n_failed=0, n_seeds=n_seeds, seed_mean=m + 0.001,
                 seed_ci_low=m - 0.03, seed_ci_high=m + 0.03) for e, m in means.items()]
    rows.append(dict(rows[0], model="vit", explainer="rollout", mean=0.1))  # another model: not shown
    rows.append(dict(rows[0], explainer="ia-vit", metric="insertion", mean=0.9))  # not the headline metric
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


@pytest.fixture
def drawn(monkeypatch):
    """What the figure drew: error bars (x, interval, y) and shaded bands (low, high)."""
    found = {"points": [], "bands": []}
    real_errorbar, real_span = Axes.errorbar, Axes.axvspan
    monkeypatch.setattr(Axes, "errorbar", lambda self, x, y, xerr, **kw: found["points"].append(
        (x, xerr[0][0], xerr[1][0], y)) or real_errorbar(self, x, y, xerr=xerr, **kw))
    monkeypatch.setattr(Axes, "axvspan", lambda self, low, high, **kw: found["bands"].append((low, high))
                        or real_span(self, low, high, **kw))
    return found


def test_explainers_best_first_with_the_controls_as_bands_and_the_interpreter_marked(tmp_path, drawn) -> None:
    figure = headline_figure(summary(), METRICS, tmp_path)
    assert [p.name for p in figure.paths] == ["headline.png", "headline.pdf"] and figure.paths[0].stat().st_size
    # lower is better: rollout, ia-vit, attention, random from the top; the two matched controls are bands only
    assert [(round(x, 3), round(y)) for x, _, _, y in drawn["points"]] == [(0.2, 3), (0.3, 2), (0.33, 1), (0.35, 0)]
    assert all(low == pytest.approx(0.01) and high == pytest.approx(0.01) for _, low, high, _ in drawn["points"])
    assert drawn["bands"] == [pytest.approx((0.39, 0.41)), pytest.approx((0.40, 0.42))]  # random-patch, shuffled
    assert figure.alt == ("Dot plot of deletion[patch] (lower is better) for the explainers of ia-vit, best first: "
                          "rollout 0.200, ia-vit 0.300, attention 0.330, random 0.350. Reference bands: random-patch "
                          "0.400 [0.390, 0.410], shuffled:ia-vit 0.410 [0.400, 0.420]. The interpreter ranks 2 of 4.")
    assert "95% bootstrap interval over images" in figure.caption and "left of a band" in figure.caption


def test_with_three_seeds_the_interval_is_the_one_across_seeds(tmp_path, drawn) -> None:
    figure = headline_figure(summary(n_seeds=3), METRICS, tmp_path)
    assert all(low == pytest.approx(0.031) and high == pytest.approx(0.029) for _, low, high, _ in drawn["points"])
    assert drawn["points"][0][0] == pytest.approx(0.201)  # the mean of the per-seed means
    assert "95% t-interval across training seeds" in figure.caption


def test_nothing_to_draw_is_no_figure(tmp_path) -> None:
    assert headline_figure(summary()[lambda f: f.metric == "insertion"].assign(metric="sparseness"), METRICS,
                           tmp_path) is None  # no curve metric in the summary


def test_report_html_shows_it_under_what_it_says(tmp_path) -> None:
    write_run(tmp_path)
    (tmp_path / "models.json").write_text(json.dumps(models_json()))
    build_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    says, figure, verdict = html.index("<h2>What it says</h2>"), html.index('<figure id="headline">'), html.index(
        'id="verdict"')
    assert says < figure < verdict
    assert 'alt="Dot plot of deletion (lower is better) for the explainers of ia-vit, best first: ia-vit' in html
    markdown = (tmp_path / "report.md").read_text()
    assert "![Dot plot of deletion" in markdown and "](plots/headline.png)" in markdown
