"""Figures draw the numbers their captions state: curve bands are mean +- 1.96 SE, training bands the range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iabench.reporting import plots


@pytest.fixture
def captured(monkeypatch) -> list:
    figures: list = []
    monkeypatch.setattr(plots, "_save", lambda fig, folder, name: figures.append(fig) or [name])
    return figures


def test_curve_band_is_the_mean_plus_minus_1_96_standard_errors(captured, tmp_path) -> None:
    values = {0.0: [1.0, 0.8, 0.9, 0.5], 1.0: [0.2, 0.0, 0.1, 0.3]}
    curves = pd.DataFrame([dict(model="vit", explainer="rollout", metric="deletion", sample=i, x=x, value=v)
                           for x, vs in values.items() for i, v in enumerate(vs)])
    assert plots.curve_plots(curves, tmp_path) == ["curves_deletion"]
    ax = captured[0].axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [np.mean(values[0.0]), np.mean(values[1.0])])
    band = ax.collections[0].get_paths()[0].vertices
    for x, vs in values.items():
        half = 1.96 * np.std(vs, ddof=1) / np.sqrt(len(vs))
        at_x = band[np.isclose(band[:, 0], x), 1]
        np.testing.assert_allclose([at_x.min(), at_x.max()], [np.mean(vs) - half, np.mean(vs) + half])


def test_training_band_is_the_range_over_seeds(captured, tmp_path) -> None:
    training = pd.DataFrame(dict(model="vit", seed=[0, 1, 2, 0, 1, 2], epoch=[1, 1, 1, 2, 2, 2],
                                 loss=[2.0, 2.6, 2.3, 1.0, 1.4, 1.1]))
    plots.training_plots(training, tmp_path)
    ax = captured[0].axes[0]
    band = ax.collections[0].get_paths()[0].vertices
    for epoch, low, high in ((1, 2.0, 2.6), (2, 1.0, 1.4)):
        at_epoch = band[np.isclose(band[:, 0], epoch), 1]
        np.testing.assert_allclose([at_epoch.min(), at_epoch.max()], [low, high])
