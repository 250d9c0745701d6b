"""Which protocol tells the truth: Kendall tau of each protocol's ranking against the ground truth's, on planted
scores whose rankings are known, with the two-stage bootstrap interval, the permutation p with Holm, and the oracle
rule with its interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iabench.records import explainer_records_of, metric_records_of
from iabench.reporting.ground_truth.separation import truth_separation, with_separation
from iabench.reporting.ground_truth.truth import protocol_truth
from iabench.reporting.ground_truth.truth_figure import truth_figure
from iabench.reporting.ground_truth.truth_text import truth_markdown

METRICS = metric_records_of({
    "foreground-mass": {"name": "foreground-mass", "direction": "higher", "family": "diagnostics", "unit": "pixel"},
    "evidence-auc[patch]": {"name": "evidence-auc", "direction": "higher", "family": "localisation", "unit": "patch"},
    "deletion": {"name": "deletion", "direction": "lower", "family": "faithfulness", "curve": True, "unit": "pixel"},
    "insertion": {"name": "insertion", "direction": "higher", "family": "faithfulness", "curve": True,
                  "unit": "pixel"},
    "deletion[patch]": {"name": "deletion", "direction": "lower", "family": "faithfulness", "curve": True,
                        "unit": "patch"},
})
EXPLAINERS = explainer_records_of({"random": {"name": "random", "family": "control"},
                                   "evidence-oracle": {"name": "evidence-oracle", "family": "control"}})
QUALITY = {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}  # the truth: a best


def _results(insertion_order: dict[int, list[str]], oracle_insertion: float | list[float]) -> pd.DataFrame:
    """Mass and AUC follow QUALITY on every seed; deletion follows it too (lower = better); insertion ranks the
    explainers per seed as given (best first); the oracle tops the truth and deletion."""
    rows = []
    for seed in (0, 1, 2):
        for sample in range(4):
            for explainer, q in {**QUALITY, "random": 0.0, "evidence-oracle": 9.0}.items():
                rows += [(seed, "m", explainer, "foreground-mass", sample, q + 0.01 * sample),
                         (seed, "m", explainer, "evidence-auc[patch]", sample, q / 10),
                         (seed, "m", explainer, "deletion", sample, 1 - q / 10),
                         (seed, "m", explainer, "deletion[patch]", sample, 1 - q / 10)]
            order = insertion_order[seed]
            for explainer in QUALITY:
                rows.append((seed, "m", explainer, "insertion", sample, 10.0 - order.index(explainer)))
            oracle = oracle_insertion[sample] if isinstance(oracle_insertion, list) else oracle_insertion
            rows += [(seed, "m", "evidence-oracle", "insertion", sample, oracle),
                     (seed, "m", "random", "insertion", sample, 0.0)]
    return pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])


def test_tau_per_seed_averaged_with_a_seed_bootstrap_and_the_oracle_rule() -> None:
    swapped = ["a", "b", "d", "c"]  # one discordant pair of six: tau = (5 - 1) / 6 = 2/3
    reversed_ = ["d", "c", "b", "a"]  # tau = -1
    results = _results({0: list(QUALITY), 1: swapped, 2: reversed_}, oracle_insertion=8.5)
    truth = protocol_truth(results, METRICS, EXPLAINERS).set_index(["protocol", "truth"])
    deletion = truth.loc[("deletion", "foreground-mass")]
    assert (deletion.tau, deletion.low, deletion.high, deletion.seeds, deletion.explainers) == (1.0, 1.0, 1.0, 3, 4)
    assert deletion.unit == "pixel" and not deletion.unreliable and deletion.images == 12
    # tau 1 on each of 3 seeds of 4 items: 1 of the 24 orders per seed, jointly (1/24)^3; Holm doubles the smaller
    # of the two p of the pixel-unit family (deletion, insertion against foreground-mass)
    assert deletion.p_value == pytest.approx(24.0 ** -3, rel=1e-12) and deletion.agrees
    assert deletion.p_holm == pytest.approx(2 * 24.0 ** -3, rel=1e-12)
    within = protocol_truth(_results({0: list(QUALITY), 1: list(QUALITY), 2: list(QUALITY)}, oracle_insertion=9.99),
                            METRICS, EXPLAINERS).set_index(["protocol", "truth"]).loc[("insertion", "foreground-mass")]
    assert within.oracle_gap == pytest.approx(-0.01, abs=1e-9) and not within.unreliable  # within the margin
    assert (within.gap_low, within.gap_high) == pytest.approx((-0.01, -0.01), abs=1e-9)  # no spread to resample
    # the oracle 1.0 below a's 10 on the mean, but 6 or 12 by image: its interval crosses -margin, so undecided
    spread = protocol_truth(_results({s: list(QUALITY) for s in range(3)}, oracle_insertion=[6.0, 12.0, 6.0, 12.0]),
                            METRICS, EXPLAINERS).set_index(["protocol", "truth"]).loc[("insertion", "foreground-mass")]
    assert spread.oracle_gap == pytest.approx(-1.0) and spread.gap_low < -1 < 0 < spread.gap_high
    assert not spread.unreliable
    # deletion (lower = better): the oracle's 1 - 0.9 = 0.1 against a's 1 - 0.4 = 0.6, oriented: -0.1 - (-0.6)
    assert deletion.oracle_gap == pytest.approx(0.5, abs=1e-12)
    insertion = truth.loc[("insertion", "foreground-mass")]
    assert insertion.tau == pytest.approx((1 + 2 / 3 - 1) / 3, abs=1e-12)
    assert insertion.low == pytest.approx(-1.0) and insertion.high == pytest.approx(1.0)  # 1/27 of draws: all -1
    assert insertion.p_value > 0.05 and not insertion.agrees  # tau 0.22 over 3 seeds is what chance gives
    # a's insertion: 10, 10 and 7 on the three seeds, mean 9 (the best): the oracle's 8.5 is below it
    assert insertion.unreliable and insertion.oracle_gap == pytest.approx(8.5 - 9.0, abs=1e-12)
    patch = truth.loc[("deletion[patch]", "evidence-auc[patch]")]  # a protocol meets the truth of its own unit
    assert patch.tau == 1.0 and ("deletion[patch]", "foreground-mass") not in truth.index
    assert ("deletion", "evidence-auc[patch]") not in truth.index
    wider = protocol_truth(results, METRICS, EXPLAINERS, margin=0.6).set_index(["protocol", "truth"])
    assert not wider.loc[("insertion", "foreground-mass")].unreliable  # trails by 0.5: within a margin of 0.6
    text = truth_markdown(truth.reset_index(), 0.02)
    assert ("| m | insertion **unreliable** | foreground-mass | +0.22 [-1.00, +1.00] | 0.28 | 3 | 4 | "
            "-0.500 [-1.500, -0.500] |") in text
    assert "| m | deletion | foreground-mass | +1.00 [+1.00, +1.00] | 0.00014 **agrees** | 3 | 4 |" in text
    assert "below 0.05: at most that chance" in text
    assert "): deletion against foreground-mass (m), deletion[patch]" in text
    assert text.endswith("Unreliable for these models (the ground truth scores worse than an explainer, its whole "
                         "95 % interval beyond 0.02 per unit of the metric's span): insertion (m).")


def test_one_seed_has_an_image_interval_and_no_truth_no_rows() -> None:
    results = _results({0: list(QUALITY), 1: list(QUALITY), 2: list(QUALITY)}, oracle_insertion=20.0)
    one = protocol_truth(results[results.seed == 0], METRICS, EXPLAINERS)
    # every image ranks the explainers alike: the image bootstrap has no spread
    assert one.seeds.eq(1).all() and one.low.eq(1.0).all() and one.high.eq(1.0).all() and not one.unreliable.any()
    assert one.p_value.to_numpy() == pytest.approx([1 / 24] * 3, rel=1e-12)
    assert truth_markdown(one, 0.02).endswith("Under no protocol does the ground truth score detectably worse than "
                                              "an explainer.")
    no_truth = results[~results.metric.isin(["foreground-mass", "evidence-auc[patch]"])]
    assert protocol_truth(no_truth, METRICS, EXPLAINERS).empty and truth_markdown(pd.DataFrame(), 0.02) == ""
    assert np.isfinite(one.tau).all()


def test_the_figure_is_drawn_per_model(tmp_path) -> None:
    results = _results({0: list(QUALITY), 1: ["a", "b", "d", "c"], 2: ["d", "c", "b", "a"]}, oracle_insertion=8.5)
    truth = protocol_truth(pd.concat([results, results.assign(model="n")]), METRICS, EXPLAINERS)
    paths = truth_figure(truth, tmp_path)
    assert [p.name for p in paths] == ["truth.png", "truth.pdf"] and all(p.stat().st_size > 1000 for p in paths)
    assert truth_figure(truth.iloc[:0], tmp_path / "none") == [] and not (tmp_path / "none").exists()


def test_without_the_oracle_nothing_is_called_reliable() -> None:
    results = _results({0: list(QUALITY), 1: list(QUALITY), 2: list(QUALITY)}, oracle_insertion=20.0)
    truth = protocol_truth(results[results.explainer != "evidence-oracle"], METRICS, EXPLAINERS)
    assert truth.oracle_gap.isna().all() and not truth.unreliable.any()
    text = truth_markdown(truth, 0.02)
    assert "| m | deletion | foreground-mass | +1.00 [+1.00, +1.00] | 0.00014 **agrees** | 3 | 4 | n/a |" in text
    assert text.endswith("The run has no evidence-oracle: whether a protocol scores the ground truth worse than an "
                         "explainer was not checked.")


def test_models_without_ground_truth_are_left_out() -> None:
    results = _results({0: list(QUALITY), 1: list(QUALITY), 2: ["d", "c", "b", "a"]}, oracle_insertion=20.0)
    every = protocol_truth(results, METRICS, EXPLAINERS).set_index(["protocol", "truth"])
    assert every.loc[("insertion", "foreground-mass")].tau == pytest.approx(1 / 3, abs=1e-12)
    kept = protocol_truth(results, METRICS, EXPLAINERS, excluded={("m", 2)}).set_index(["protocol", "truth"])
    assert kept.loc[("insertion", "foreground-mass")].tau == 1.0 and kept.seeds.eq(2).all()


def test_the_oracle_margin_is_delta_times_the_metric_span() -> None:
    """The oracle 0.03 below the best explainer on every image: beyond δ = 0.02 on an AUC (span 1), within
    2 x 0.02 on a correlation (span 2). A span of 1 for the correlation, or 2 for the AUC, flips one of them."""
    metrics = metric_records_of({
        "foreground-mass": {"name": "foreground-mass", "direction": "higher", "family": "diagnostics"},
        "insertion": {"name": "insertion", "direction": "higher", "family": "faithfulness", "curve": True},
        "faithfulness-correlation": {"name": "faithfulness-correlation", "direction": "higher",
                                     "family": "faithfulness"}})
    rows = [(seed, "m", e, metric, sample, value)
            for seed in (0, 1) for sample in range(3)
            for e, q in {**QUALITY, "evidence-oracle": 4.0 - 0.3}.items()
            for metric, value in (("foreground-mass", q), ("insertion", q / 10), ("faithfulness-correlation", q / 10))]
    results = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    truth = protocol_truth(results, metrics, EXPLAINERS).set_index("protocol")
    assert truth.loc["insertion"].margin == pytest.approx(0.02) and truth.loc["insertion"].unreliable
    correlation = truth.loc["faithfulness-correlation"]
    assert correlation.margin == pytest.approx(0.04) and correlation.oracle_gap == pytest.approx(-0.03)
    assert not correlation.unreliable


def test_a_protocol_agrees_only_with_a_truth_that_separates_the_explainers() -> None:
    """foreground-mass follows QUALITY (3 apart per step, image noise 0.01): it separates; an AUC on which a, b, c
    and d tie up to image noise does not, so deletion[patch], ranked exactly as QUALITY, is not said to agree."""
    results = _results({s: list(QUALITY) for s in range(3)}, oracle_insertion=20.0)
    flat = results.metric.eq("evidence-auc[patch]") & results.explainer.isin(list(QUALITY))
    noise = np.random.default_rng(0).normal(size=flat.sum()) * 0.01
    results.loc[flat, "value"] = 0.5 + noise
    table = truth_separation(results, METRICS, EXPLAINERS)
    separated = table.set_index("truth")
    assert separated.loc["foreground-mass"].separates and not separated.loc["evidence-auc[patch]"].separates
    assert separated.loc["foreground-mass"].resolved_pairs == 1.0
    assert (separated.loc["foreground-mass"].explainers, separated.loc["foreground-mass"].seeds,
            separated.loc["foreground-mass"].images) == (4, 3, 4)  # controls are not ranked
    truth = with_separation(protocol_truth(results, METRICS, EXPLAINERS), table).set_index(["protocol", "truth"])
    assert truth.loc[("deletion", "foreground-mass")].agrees
    assert not truth.loc[("deletion[patch]", "evidence-auc[patch]")].agrees
    assert not truth.loc[("deletion[patch]", "evidence-auc[patch]")].truth_separates
    text = truth_markdown(truth.reset_index(), 0.02, separated=table)
    assert "Not ranked by, its explainers no further apart than its images and seeds" in text
    assert "evidence-auc[patch] (m); no protocol is said to agree with it." in text
    assert "| m | deletion[patch] | evidence-auc[patch] |" in text and "(truth not ranked)" in text
