"""The verdict's decision rules pinned with known answers (docs/ia-vit-study.md, the verdict table and the statistics
paragraph): for each rule, scores whose decision flips if the rule changes. Differences are built with an exact mean
and SD, so each test sits where the rule, and only the rule, decides."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower
from support import models_json

from iabench.refresh import explainer_records, metric_records
from iabench.reporting.run_files import RunRecords
from iabench.reporting.verdict.rules import verdict as run_verdict
from iabench.reporting.verdict.text import verdict_markdown
from iabench.stats import detectable, holm, mean_test, power

SAMPLES = 20  # per seed; two seeds: the image is the unit, n = 40 pairs
N = 2 * SAMPLES
INSERTION = metric_records({"insertion": {"name": "insertion", "direction": "higher", "auc": "trapezoid"}})
BOTH = {**INSERTION, **metric_records({"deletion": {"name": "deletion", "direction": "lower", "auc": "trapezoid"}})}
EXPLAINERS = explainer_records({label: {"name": label} for label in ("ia-vit", "random-patch")})


def verdict(results, metrics, models, explainers, settings=None, correctness=None):  # noqa: ANN001, ANN201
    """The verdict of a run that recorded these metrics, models and explainers (JSON entries)."""
    return run_verdict(results, RunRecords.read(metrics, explainers, models), settings, correctness)


def exact(n: int, mean: float, sd: float) -> np.ndarray:
    """n values with exactly this mean and SD (ddof=1)."""
    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def with_p(p: float, sign: float, se: float = 0.03, n: int = N) -> np.ndarray:
    """Differences whose two-sided t-test gives exactly p, with the sign of ``sign``."""
    return exact(n, sign * stats.t.isf(p / 2, n - 1) * se, se * math.sqrt(n))


def frame(differences: dict[tuple[str, str, str], np.ndarray], reference: tuple[str, str] = ("ia-vit", "random-patch"),
          seeds: tuple[int, ...] = (0, 1)) -> pd.DataFrame:
    """results.csv rows: ``reference`` at arbitrary levels, each (model, explainer, metric) key at the reference's
    score of that metric plus its differences (one per (seed, sample) pair)."""
    rng = np.random.default_rng(0)
    pairs = [(seed, sample) for seed in seeds for sample in range(SAMPLES)]
    rows = []
    for metric in {key[2] for key in differences}:
        base = rng.uniform(0.3, 0.6, len(pairs))
        rows += [("r", s, *reference, metric, i, v) for (s, i), v in zip(pairs, base)]
        rows += [("r", s, m, e, metric, i, v + d) for (m, e, k), diff in differences.items() if k == metric
                 for (s, i), v, d in zip(pairs, base, diff)]
    return pd.DataFrame(rows, columns=["run", "seed", "model", "explainer", "metric", "sample", "value"])


def claim(claims: pd.DataFrame, name: str) -> pd.DataFrame:
    return claims[claims.claim == name].set_index("comparison")


def test_tost_decides_on_the_90_percent_interval() -> None:
    se = 0.0105  # 90% half-width 1.685 se = 0.0177 < δ = 0.02 < 95% half-width 2.023 se = 0.0212
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.0, se * math.sqrt(N))})
    row = claim(verdict(results, INSERTION, models_json(), EXPLAINERS), "i").iloc[0]
    assert -0.02 < row.ci90_low and row.ci90_high < 0.02 and row.ci_low < -0.02 < 0.02 < row.ci_high
    assert row.status == "no effect larger than δ"  # a 95% interval would leave it inconclusive


def test_worse_is_read_at_the_holm_adjusted_p_and_holds_at_the_raw_p_for_an_intersection_union_claim() -> None:
    # two protocols of claim (i): insertion at raw p 0.03, deletion at p 0.6; Holm: 0.06 and 0.6
    quiet = with_p(0.6, 1.0)  # deletion: interpreter - control > 0 = worse (lower is better), far from significant
    for sign, status in ((-1.0, "inconclusive"), (1.0, "holds")):
        results = frame({("ia-vit", "ia-vit", "insertion"): with_p(0.03, sign),
                         ("ia-vit", "ia-vit", "deletion"): quiet})
        rows = claim(verdict(results, BOTH, models_json(), EXPLAINERS), "i")
        row = rows.loc["ia-vit/ia-vit vs ia-vit/random-patch on insertion"]
        assert row.p_value == pytest.approx(0.03) and row.p_holm == pytest.approx(0.06)
        assert row.status == status  # worse only below 0.05 after Holm; better at the raw p (the claim is an IUT)


def test_ablations_are_decided_row_by_row_in_one_holm_family_across_all_ablations() -> None:
    info = models_json(seeds=(0, 1), ablation=True)
    info["ia-vit-align-10"] = dict(info["ia-vit-no-align"], description="lambda 10")
    for sign in (-1.0, 1.0):  # worse and better: both sides are read after Holm in (iv)
        results = frame({("ia-vit-no-align", "ia-vit", "insertion"): with_p(0.03, sign),
                         ("ia-vit-align-10", "ia-vit", "insertion"): with_p(0.6, 1.0)}, reference=("ia-vit", "ia-vit"))
        rows = claim(verdict(results, INSERTION, info, EXPLAINERS), "iv")
        row = rows.loc["ia-vit-no-align/ia-vit vs ia-vit/ia-vit on insertion"]
        # per ablation, or as an intersection-union test, this row alone would read "worsens" / "improves"
        assert row.p_holm == pytest.approx(0.06) and row.status == "no detectable effect"
    results = frame({("ia-vit-no-align", "ia-vit", "insertion"): with_p(0.02, -1.0),
                     ("ia-vit-align-10", "ia-vit", "insertion"): with_p(0.6, 1.0)}, reference=("ia-vit", "ia-vit"))
    assert claim(verdict(results, INSERTION, info, EXPLAINERS), "iv").status.tolist() == ["worsens",
                                                                                           "no detectable effect"]


@pytest.mark.parametrize(("mean", "status"), [
    (0.0, "holds"),  # 90% interval inside ±1 point, the 95% one is not
    (-0.02, "inconclusive"),  # 90% interval beyond -1 point, the 95% one is not
    (-0.03, "does not hold"),  # 95% interval beyond -1 point
])
def test_accuracy_holds_by_the_90_percent_interval_and_fails_by_the_95_percent_one(mean: float, status: str) -> None:
    se = 0.0042  # 5 seeds: 90% half-width 2.132 se = 0.0090 < 0.01 < 95% half-width 2.776 se = 0.0117
    gaps = exact(5, mean, se * math.sqrt(5))
    seeds = tuple(range(5))
    info = models_json(seeds=seeds, acc_vit=[0.85] * 5, acc_ia=list(0.85 + gaps))
    row = claim(verdict(frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.01)}), INSERTION, info,
                        EXPLAINERS), "iii").iloc[0]
    assert row.unit == "seed" and row.n == 5 and row.effect == pytest.approx(mean)
    assert row.status == status


def test_the_mde_is_that_of_the_two_sided_test() -> None:
    diff = exact(N, 0.01, 0.05)
    two_sided = TTestPower().solve_power(None, nobs=N, alpha=0.05, power=0.8, alternative="two-sided")
    one_sided = TTestPower().solve_power(None, nobs=N, alpha=0.05, power=0.8, alternative="larger")
    assert mean_test(diff)["mde"] == pytest.approx(two_sided * 0.05, rel=1e-6)
    assert abs(two_sided / one_sided - 1) > 0.1  # the two differ by far more than the tolerance


@pytest.mark.parametrize(("n", "alpha"), [(3, 0.05), (10, 0.05), (40, 0.05), (10, 0.05 / 34), (200, 0.05 / 34)])
def test_detectable_effect_equals_statsmodels_where_its_root_is_right(n: int, alpha: float) -> None:
    found = detectable(n, alpha)
    assert power(found, n, alpha) == pytest.approx(0.8, abs=1e-9)
    theirs = TTestPower().solve_power(None, nobs=n, alpha=alpha, power=0.8)
    # statsmodels stops its root search with the power within ~1e-5 of 0.8 (0.799992 at n = 200, alpha = 0.05 / 34)
    assert found == pytest.approx(theirs, rel=1e-5)
    assert abs(power(found, n, alpha) - 0.8) <= abs(TTestPower().power(theirs, n, alpha) - 0.8)
    assert power(found / 2, n, alpha) == pytest.approx(TTestPower().power(found / 2, n, alpha), abs=1e-9)


def test_detectable_effect_where_statsmodels_fails_has_its_power_in_a_simulation() -> None:
    n, alpha = 3, 0.05 / 102  # three seeds in the study's 102-row ablation family
    wrong = TTestPower().solve_power(None, nobs=n, alpha=alpha, power=0.8)
    assert TTestPower().power(wrong, n, alpha) < 0.1  # statsmodels' root has about 4 % power
    found = detectable(n, alpha)
    x = np.random.default_rng(0).normal(found, 1.0, (20000, n))
    p = stats.ttest_1samp(x, 0.0, axis=1).pvalue
    assert (p < alpha).mean() == pytest.approx(0.8, abs=0.015)


def test_the_mde_after_holm_is_the_effect_the_holm_decision_detects_with_80_percent_power() -> None:
    m, n = 10, 10  # one row with a real effect among ten, Holm over the ten
    single = detectable(n)
    after = detectable(n, 0.05 / m)
    rng = np.random.default_rng(1)
    for effect, low, high in ((after, 0.78, 0.88), (single, 0.2, 0.45)):
        x = rng.normal(0.0, 1.0, (4000, m, n))
        x[:, 0] += effect
        p = stats.ttest_1samp(x, 0.0, axis=2).pvalue
        found = np.mean([holm(row)[0] < 0.05 for row in p])
        assert low < found < high, (effect, found)  # the single-test MDE overstates what the family can detect


def test_rows_decided_after_holm_carry_the_mde_at_alpha_over_m() -> None:
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.0, 0.3), ("ia-vit", "ia-vit", "deletion"):
                     exact(N, 0.0, 0.2)})
    claims = verdict(results, BOTH, models_json(), EXPLAINERS)
    rows = claim(claims, "i")
    ratio = detectable(N, 0.05 / 2) / detectable(N, 0.05)  # a family of two rows
    np.testing.assert_allclose(rows.mde_holm, rows.mde * ratio, rtol=1e-9)
    np.testing.assert_allclose(rows.mde, [detectable(N) * 0.3, detectable(N) * 0.2][::1 if rows.index[0].endswith(
        "insertion") else -1], rtol=1e-9)
    assert claim(claims, "iii").mde_holm.isna().all()  # one test: no Holm
    text = verdict_markdown(claims, models_json())
    low, high = sorted(rows.mde_holm)
    assert (f"in its favour and of {low:.2g} to {high:.2g} against it (after Holm over the claim's rows)"
            in text)


def test_what_would_settle_it_follows_the_unit() -> None:
    rng = np.random.default_rng(2)
    seeds = (0, 1, 2)
    # seed unit; the images vary far more than the seeds, yet with the images held fixed only seeds narrow it
    image_effect = rng.normal(0, 0.5, SAMPLES)
    diff = np.concatenate([image_effect - image_effect.mean() + shift for shift in (-0.04, 0.0, 0.04)])
    results = frame({("ia-vit", "ia-vit", "insertion"): diff}, seeds=seeds)
    claims = verdict(results, INSERTION, models_json(), EXPLAINERS)
    row = claim(claims, "i").iloc[0]
    assert row.unit == "seed" and row.status == "inconclusive" and row.image_share > 0.5
    text = verdict_markdown(claims, models_json())
    assert "more training seeds would settle it (seeds are the unit" in text and "test images would" not in text
    two = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.0, 0.5)})
    assert "training 3 or more seeds would settle it" in verdict_markdown(
        verdict(two, INSERTION, models_json(), EXPLAINERS), models_json())


# -- the verdict's bookkeeping: which models, explainers and protocols make which rows -----------------------------
def test_rows_name_the_reference_model_and_its_interpreter_apart() -> None:
    info = {"vit-short": {"kind": "vit", "baseline": "", "seeds": {}},
            "ia-vit-short": {"kind": "ia-vit", "baseline": "vit-short", "seeds": {}},
            "vit-long": {"kind": "vit", "baseline": "vit-short", "seeds": {}}}  # a plain ViT is never a reference
    results = frame({("ia-vit-short", "ia-vit", "insertion"): exact(N, 0.1, 0.05),
                     ("vit-long", "attention", "insertion"): exact(N, 0.0, 0.05)},
                    reference=("ia-vit-short", "random-patch"))
    claims = verdict(results, INSERTION, info, EXPLAINERS)
    assert set(claims.model[claims.claim != "iv"]) == {"ia-vit-short"}  # (iv) says it has no ablation
    first = claims[claims.claim == "i"]
    assert first.comparison.tolist() == ["ia-vit-short/ia-vit vs ia-vit-short/random-patch on insertion"]
    assert claims.index.tolist() == list(range(len(claims)))


def test_without_models_json_ia_vit_and_vit_are_the_pair_whatever_else_ran() -> None:
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05),
                     ("other", "ia-vit", "insertion"): exact(N, 0.1, 0.05), ("vit", "attention", "insertion"):
                     exact(N, 0.0, 0.05)})
    claims = verdict(results, INSERTION, {}, EXPLAINERS)
    assert set(claims.model[claims.claim != "iv"]) == {"ia-vit"}


def test_a_control_scored_on_another_model_only_is_not_the_interpreters() -> None:
    for other in ("vit", "another"):  # names after and before the reference's
        results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05)}, reference=(other, "random-patch"))
        first = claim(verdict(results, INSERTION, models_json(), EXPLAINERS), "i")
        assert first.index.tolist() == ["no control at the interpreter's resolution (random-patch or "
                                        "shuffled:ia-vit) in this run: a control of another resolution cannot "
                                        "decide"], other


def test_a_control_matches_by_resolution_only() -> None:
    pixel_interpreter = {**EXPLAINERS, "ia-vit": {**EXPLAINERS["ia-vit"], "resolution": "pixel"}}
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05)})
    first = claim(verdict(results, INSERTION, models_json(), pixel_interpreter), "i")
    assert "not matched (patch control, pixel map): for reference only" in set(first.control)


def test_an_ablation_without_its_interpreter_is_one_row_saying_so() -> None:
    info = models_json(seeds=(0, 1), ablation=True)
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05),
                     ("ia-vit-no-align", "attention", "insertion"): exact(N, 0.1, 0.05)})
    fourth = verdict(results, INSERTION, info, EXPLAINERS).query("claim == 'iv'")
    assert fourth.comparison.tolist() == ["ia-vit-no-align/ia-vit or ia-vit/ia-vit not in this run"]
    assert fourth.n.tolist() == [0] and fourth.status.tolist() == ["inconclusive"]


def test_an_ablation_is_decided_when_only_it_and_its_base_were_explained() -> None:
    info = models_json(seeds=(0, 1), ablation=True)
    results = frame({("ia-vit-no-align", "ia-vit", "insertion"): with_p(0.001, 1.0)}, reference=("ia-vit", "ia-vit"))
    fourth = claim(verdict(results, INSERTION, info, EXPLAINERS), "iv")
    assert fourth.status.tolist() == ["improves"] and fourth.n.tolist() == [N]


def test_rows_follow_the_protocol_order_not_the_order_metrics_json_lists_them() -> None:
    info = metric_records({"insertion[blur,patch]": {"name": "insertion", "substrate": "blur", "unit": "patch"},
                           "insertion[patch]": {"name": "insertion", "unit": "patch"},
                           "insertion": {"name": "insertion"}})
    results = frame({("ia-vit", "ia-vit", m): exact(N, 0.1, 0.05) for m in info})
    first = claim(verdict(results, info, models_json(), EXPLAINERS), "i")
    assert first.protocol.tolist() == ["insertion, zeros, pixel unit", "insertion, zeros, patch unit",
                                       "insertion, blur, patch unit"]  # zeros before blur, pixel before patch


def test_accuracy_uses_the_seeds_both_models_have_and_says_how_many_images() -> None:
    info = models_json(seeds=(0, 1, 2, 3), acc_ia=(0.850, 0.851, 0.849, 0.5), acc_vit=(0.852, 0.853, 0.851))
    for seed in info["vit"]["seeds"].values():
        seed["test_images"] = 10000.0
    info["ia-vit"]["seeds"]["0"]["test_images"] = 10000.0
    row = claim(verdict(frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05)}), INSERTION, info,
                        EXPLAINERS), "iii").iloc[0]
    assert row.n == 3 and row.effect == pytest.approx(-0.002)  # seed 3 (ia-vit only) is not paired
    assert row.name == "ia-vit vs vit: test accuracy per seed (models.json, 10000 images)"


def test_per_image_correctness_of_one_model_only_falls_back_and_two_seeds_are_named() -> None:
    index = pd.MultiIndex.from_product([(0, 1), range(100)], names=["seed", "sample"])
    right = pd.Series(np.tile(np.arange(100) < 80, 2).astype(float), index=index)
    results = frame({("ia-vit", "ia-vit", "insertion"): exact(N, 0.1, 0.05)})
    models = models_json(seeds=(0, 1))
    row = claim(verdict(results, INSERTION, models, EXPLAINERS, None, {"ia-vit": right, "vit": right}),
                "iii").iloc[0]
    assert row.name == "ia-vit vs vit: per-image correctness on the 100 test images of each of 2 seeds"
    assert row.n == 200 and row.effect == 0.0
    alone = claim(verdict(results, INSERTION, models, EXPLAINERS, None, {"ia-vit": right}), "iii").iloc[0]
    assert alone.name.startswith("no test accuracy")  # vit's is missing: nothing to pair, and no error


def test_concentration_is_decided_by_its_own_interval_not_after_holm() -> None:
    entropy = metric_records({"entropy": {"name": "entropy", "direction": "lower"},
                              "entropy[pixel]": {"name": "entropy", "direction": "lower"}})
    # 0.9 - entropy: p 0.03 above the threshold's side on one, far from it on the other: Holm would give 0.06
    pairs = [(seed, sample) for seed in (0, 1) for sample in range(SAMPLES)]
    results = pd.DataFrame([("r", seed, "ia-vit", "ia-vit", metric, sample, 0.9 - d) for metric, diff in
                            (("entropy", with_p(0.03, 1.0)), ("entropy[pixel]", with_p(0.6, 1.0)))
                            for (seed, sample), d in zip(pairs, diff)],
                           columns=["run", "seed", "model", "explainer", "metric", "sample", "value"])
    fifth = claim(verdict(results, entropy, models_json(), EXPLAINERS), "v")
    row = fifth.loc["ia-vit/ia-vit entropy vs 0.9 (1 = uniform)"]
    assert row.p_value == pytest.approx(0.03) and row.p_holm == pytest.approx(0.06)
    assert row.status == "holds" and math.isnan(row.mde_holm)  # its 95% interval lies below 0.9
