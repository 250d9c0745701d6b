"""Uncertainty across training seeds (summary, significance) and the verdict on IA-ViT's claims, on
hand-made results with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower
from support import models_json

from iabench.refresh import explainer_records, metric_records
from iabench.reporting import build_report
from iabench.reporting.run_files import RunRecords
from iabench.reporting.summary import significance, summarise
from iabench.reporting.verdict.rules import COLUMNS
from iabench.reporting.verdict.rules import verdict as run_verdict
from iabench.reporting.verdict.text import overall, verdict_markdown

COLUMNS_RESULTS = ["run", "seed", "model", "explainer", "metric", "sample", "value"]
SAMPLES = 20
METRICS_INFO = metric_records({
    "insertion": {"name": "insertion", "direction": "higher", "display_name": "Insertion", "reference": "RISE",
                  "auc": "trapezoid"},
    "deletion": {"name": "deletion", "direction": "lower", "display_name": "Deletion", "reference": "RISE",
                 "auc": "trapezoid"},
    "entropy": {"name": "entropy", "direction": "lower", "display_name": "Entropy", "reference": "", "auc": None},
    "accuracy": {"name": "accuracy", "direction": "higher", "display_name": "Accuracy", "reference": "", "auc": None},
})
# what a run records of the explainers these tests use (the verdict reads resolutions from explainers.json alone)
RECORDED_EXPLAINERS = explainer_records({label: {"name": label} for label in (
    "ia-vit", "random-patch", "random", "attention", "rollout", "integrated-gradients", "occlusion")})


def verdict(results, metrics_info, models_info, explainers_info=None, settings=None, correctness=None):  # noqa: ANN001, ANN201
    """The verdict with the run's explainer records (these tests' explainers, unless given)."""
    records = RunRecords.read(metrics_info, explainers_info or RECORDED_EXPLAINERS, models_info)
    return run_verdict(results, records, settings, correctness)


# the interpreter far better than every other map of the same model (deletion: lower is better); random-patch is
# the control at its resolution (patch), random the pixel control (shown for reference only)
WIN = {("ia-vit", "ia-vit"): {"insertion": 0.80, "deletion": 0.20},
       **{("ia-vit", e): {"insertion": 0.55, "deletion": 0.45}
          for e in ("random-patch", "random", "attention", "rollout")},
       ("vit", "attention"): {"insertion": 0.6, "deletion": 0.4}}




def scores(levels: dict, seeds=(0, 1, 2), noise: float = 0.02, rng_seed: int = 0) -> pd.DataFrame:
    """levels: (model, explainer) -> {metric: level}; each (seed, sample) a level plus normal noise."""
    rng = np.random.default_rng(rng_seed)
    rows = [("r", seed, model, explainer, metric, s, v) for seed in seeds for (model, explainer), per in levels.items()
            for metric, level in per.items() for s, v in enumerate(level + rng.normal(0, noise, SAMPLES))]
    return pd.DataFrame(rows, columns=COLUMNS_RESULTS)


def tie(frame: pd.DataFrame, source: tuple[str, str], target: tuple[str, str]) -> pd.DataFrame:
    """``target`` scores = ``source``'s on the same (seed, sample) plus symmetric noise (+e on half the samples,
    -e on the other half): the same distribution, no difference to detect."""
    rng = np.random.default_rng(1)
    copy = frame[(frame.model == source[0]) & (frame.explainer == source[1])].copy()
    half = rng.uniform(0.001, 0.003, SAMPLES // 2)
    copy["value"] += np.concatenate([half, -half])[copy["sample"].to_numpy()]
    copy["model"], copy["explainer"] = target
    others = frame[~((frame.model == target[0]) & (frame.explainer == target[1]))]
    return pd.concat([others, copy], ignore_index=True)


def with_entropy(frame: pd.DataFrame, level: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    return pd.concat([frame, scores({("ia-vit", "ia-vit"): {"entropy": level}}, seeds, 0.01, 5)], ignore_index=True)


def rows_of(claims: pd.DataFrame, claim: str) -> pd.DataFrame:
    return claims[claims.claim == claim]


# -- seed uncertainty: summary ---------------------------------------------------------------------------------
def test_seed_interval_by_hand() -> None:
    """Per-seed means 1, 2, 3 (two images each): mean 2, half-width t_{0.975,2} * 1 / sqrt(3) = 2.4841 (by hand:
    t_{0.975,2} = 4.3027). A 90% (1.686) or 99% (5.730) interval, or a z-interval (1.132), fails."""
    frame = pd.DataFrame([(seed, "m", "e", "d", s, seed + 1 + (0.5 if s else -0.5)) for seed in range(3)
                          for s in range(2)], columns=["seed", "model", "explainer", "metric", "sample", "value"])
    row = summarise(frame, {"d": "lower"}).iloc[0]
    assert row.n_seeds == 3 and row.seed_mean == pytest.approx(2.0)
    assert row.seed_ci_low == pytest.approx(2 - 2.4841377, abs=1e-6)
    assert row.seed_ci_high == pytest.approx(2 + 2.4841377, abs=1e-6)
    assert row.n == 6 and row["mean"] == pytest.approx(2.0)  # the pooled per-image columns stay as they were
    one = summarise(frame[frame.seed == 0], {"d": "lower"}).iloc[0]
    assert one.n_seeds == 1 and one.seed_mean == 1.0 and np.isnan(one.seed_ci_low) and np.isnan(one.seed_ci_high)


def test_seed_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    """400 simulated 3-seed experiments (2 images per seed, seed effect ~ N(0, 1)): the 95% interval holds the
    true mean in 93-97% of them. A z-interval (~80%) or df = n_images - 1 (~89%) covers too rarely."""
    rng = np.random.default_rng(0)
    truth = 5.0
    rows = [(seed, f"m{k}", "e", "d", s, truth + shift + rng.normal(0, 0.3))
            for k in range(400) for seed, shift in enumerate(rng.normal(0, 1, 3)) for s in range(2)]
    frame = pd.DataFrame(rows, columns=["seed", "model", "explainer", "metric", "sample", "value"])
    summary = summarise(frame, {"d": "higher"})
    covered = ((summary.seed_ci_low <= truth) & (truth <= summary.seed_ci_high)).mean()
    assert 0.93 <= covered <= 0.97, covered
    # the test has the power to catch a z-interval on the same experiments
    half = (summary.seed_ci_high - summary.seed_ci_low) / 2 * stats.norm.ppf(0.975) / stats.t.ppf(0.975, 2)
    assert ((summary.seed_mean - half <= truth) & (truth <= summary.seed_mean + half)).mean() < 0.9


# -- seed uncertainty: significance ----------------------------------------------------------------------------
@pytest.mark.parametrize("n_seeds", [2, 3])
def test_significance_unit_switches_to_seed_at_three_seeds(n_seeds: int) -> None:
    frame = scores({("ia-vit", "ia-vit"): {"deletion": 0.2}, ("vit", "random"): {"deletion": 0.25}},
                   seeds=tuple(range(n_seeds)), noise=0.05)
    row = significance(frame.sample(frac=1.0, random_state=0), {"deletion": "lower"}).iloc[0]
    diff = frame.assign(value=np.where(frame.model == "vit", frame.value, -frame.value)).groupby(
        ["seed", "sample"]).value.sum()
    if n_seeds == 2:  # the image unit: a t-test of the mean of the (seed, sample) differences, like the effect
        assert row.unit == "image" and row.n == 2 * SAMPLES
        assert row.p_value == pytest.approx(stats.ttest_1samp(diff.to_numpy(), 0.0).pvalue, rel=1e-10)
        assert row.mean_diff == pytest.approx(diff.mean())
        return
    # per-seed means of each side, computed here independently of paired_effect
    means = frame.groupby(["model", "seed"]).value.mean()
    expected = stats.ttest_rel(means["vit"].to_numpy(), means["ia-vit"].to_numpy())
    assert row.unit == "seed" and row.n == 3
    assert row.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert row.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert row.mean_diff == pytest.approx((means["vit"] - means["ia-vit"]).mean())
    assert row.better == "reference"  # vit/random has the higher deletion: the interpreter is better


# -- the verdict -----------------------------------------------------------------------------------------------
def test_clear_win_holds_and_lower_deletion_counts_as_better() -> None:
    claims = verdict(with_entropy(scores(WIN), 0.5), METRICS_INFO, models_json())
    assert list(claims.columns) == COLUMNS and claims.claim.tolist() == sorted(claims.claim.tolist(), key=[
        "i", "ii", "iii", "iv", "v"].index)
    first = rows_of(claims, "i").set_index("comparison")
    assert len(first) == 4 and first.status.tolist() == ["holds", "holds", "info", "info"]
    assert overall(first.status) == "holds" and first.control.tolist() == ["matched (patch)"] * 2 + [
        "not matched (pixel control, patch map): for reference only"] * 2
    deletion = first.loc["ia-vit/ia-vit vs ia-vit/random-patch on deletion"]
    assert deletion.effect == pytest.approx(0.25, abs=0.02)  # 0.45 - 0.20: positive, the interpreter's side
    assert deletion.ci_low > 0 and deletion.unit == "seed" and deletion.n == 3 and deletion.p_value < 0.05
    assert deletion.protocol == "deletion, zeros, pixel unit"
    second = rows_of(claims, "ii")
    assert len(second) == 4 and set(second.status) == {"holds"}
    assert set(second.comparison.str.split(" vs ").str[1].str.split(" on ").str[0]) == {"ia-vit/attention",
                                                                                         "ia-vit/rollout"}


def test_mixed_directions_each_metric_oriented_by_its_direction() -> None:
    """Interpreter: higher deletion (worse, lower is better) and higher insertion (better) than random."""
    levels = {("ia-vit", "ia-vit"): {"insertion": 0.8, "deletion": 0.6},
              ("ia-vit", "random-patch"): {"insertion": 0.5, "deletion": 0.3}}
    first = rows_of(verdict(scores(levels), METRICS_INFO, models_json()), "i").set_index("comparison")
    assert first.loc["ia-vit/ia-vit vs ia-vit/random-patch on deletion", "status"] == "does not hold"
    assert first.loc["ia-vit/ia-vit vs ia-vit/random-patch on deletion", "effect"] < 0
    assert first.loc["ia-vit/ia-vit vs ia-vit/random-patch on insertion", "status"] == "holds"
    assert overall(first.status) == "does not hold"


def test_clear_loss_does_not_hold_a_tie_is_no_effect_and_noise_is_inconclusive() -> None:
    loss = {("ia-vit", "ia-vit"): {"insertion": 0.5, "deletion": 0.5},
            ("ia-vit", "random-patch"): {"insertion": 0.8, "deletion": 0.2}}
    first = rows_of(verdict(scores(loss), METRICS_INFO, models_json()), "i")
    assert set(first.status) == {"does not hold"} and (first.effect < 0).all()
    for seeds in ((0, 1), (0, 1, 2)):  # image unit and seed unit
        even = tie(scores({("ia-vit", "ia-vit"): {"insertion": 0.6, "deletion": 0.3}}, seeds), ("ia-vit", "ia-vit"),
                   ("ia-vit", "random-patch"))
        first = rows_of(verdict(even, METRICS_INFO, models_json()), "i")
        assert set(first.status) == {"no effect larger than δ"} and (first.p_value > 0.5).all(), first
        assert (first.tost_p_holm < 0.05).all() and overall(first.status) == "does not hold"
        assert set(first.unit) == {"seed" if len(seeds) == 3 else "image"}
        assert set(first.n) == {3 if len(seeds) == 3 else 2 * SAMPLES}
    # the same mean with much noise on two seeds: neither a difference nor equivalence; says what it could detect
    noisy = scores({("ia-vit", "ia-vit"): {"insertion": 0.6, "deletion": 0.3},
                    ("ia-vit", "random-patch"): {"insertion": 0.6, "deletion": 0.3}}, (0, 1), noise=0.2)
    first = rows_of(verdict(noisy, METRICS_INFO, models_json()), "i")
    assert set(first.status) == {"inconclusive"} and (first.mde > 0.02).all()
    sd = [noisy[noisy.metric == m].pivot_table(index=["seed", "sample"], columns="explainer", values="value").diff(
        axis=1).iloc[:, 1].std() for m in ("deletion", "insertion")]  # SD of the paired differences, by hand
    ratio = (first.set_index("protocol").mde / pd.Series(sd, index=["deletion, zeros, pixel unit",
                                                                    "insertion, zeros, pixel unit"])).to_numpy()
    np.testing.assert_allclose(ratio, TTestPower().solve_power(None, nobs=2 * SAMPLES, alpha=0.05, power=0.8),
                               rtol=1e-6)


def test_accuracy_equivalence_margin() -> None:
    results = scores(WIN)
    same = rows_of(verdict(results, METRICS_INFO, models_json()), "iii").iloc[0]
    assert same.status == "holds" and same.unit == "seed" and same.n == 3
    assert same.effect == pytest.approx(np.mean([0.001, 0.001, 0.002]))
    assert same.ci90_low > -0.01 and same.ci90_high < 0.01 and same.tost_p_holm < 0.05  # TOST: 90% CI inside
    worse = rows_of(verdict(results, METRICS_INFO, models_json(acc_ia=(0.80, 0.803, 0.797))), "iii").iloc[0]
    assert worse.status == "does not hold" and worse.ci_high < -0.01
    better = verdict(results, METRICS_INFO, models_json(acc_ia=(0.90, 0.903, 0.897)))
    assert rows_of(better, "iii").status.iloc[0] == "does not hold"
    assert "(IA-ViT more accurate)" in verdict_markdown(better)
    wide = rows_of(verdict(results, METRICS_INFO, models_json(acc_ia=(0.83, 0.86, 0.88))), "iii").iloc[0]
    assert wide.status == "inconclusive"  # the interval straddles the margin


def test_accuracy_with_two_seeds_falls_back_to_per_image_accuracy() -> None:
    results = scores(WIN, seeds=(0, 1))
    correct = [("r", seed, model, "-", "accuracy", s, float(s % 10 > 0)) for seed in (0, 1)
               for model in ("vit", "ia-vit") for s in range(SAMPLES)]
    results = pd.concat([results, pd.DataFrame(correct, columns=COLUMNS_RESULTS)], ignore_index=True)
    row = rows_of(verdict(results, METRICS_INFO, models_json(seeds=(0, 1))), "iii").iloc[0]
    assert row.unit == "image" and row.n == 2 * SAMPLES and "accuracy on the evaluated images" in row.comparison
    assert row.effect == 0 and row.status == "holds"  # every pair equal: a zero-width interval inside the margin
    no_accuracy = rows_of(verdict(scores(WIN, seeds=(0, 1)), METRICS_INFO, models_json(seeds=(0, 1))), "iii")
    assert no_accuracy.status.tolist() == ["inconclusive"] and "no test accuracy" in no_accuracy.comparison.iloc[0]


def test_accuracy_with_one_seed_is_decided_on_the_whole_test_split_image_by_image() -> None:
    index = pd.MultiIndex.from_arrays([np.zeros(1000, dtype=int), np.arange(1000)], names=["seed", "sample"])
    correctness = {"ia-vit": pd.Series((np.arange(1000) < 850).astype(float), index=index),  # 85.0 %
                   "vit": pd.Series((np.arange(1000) < 860).astype(float), index=index)}  # 86.0 %
    results = scores(WIN, seeds=(0,))
    wrong = [("r", 0, model, "-", "accuracy", s, float(model == "vit")) for model in ("vit", "ia-vit")
             for s in range(SAMPLES)]  # on the explained images the two differ by 100 points: not what is decided
    results = pd.concat([results, pd.DataFrame(wrong, columns=COLUMNS_RESULTS)], ignore_index=True)
    models = models_json(seeds=(0,), acc_ia=(0.85,), acc_vit=(0.86,))
    row = rows_of(verdict(results, METRICS_INFO, models, RECORDED_EXPLAINERS, None, correctness), "iii").iloc[0]
    assert row.comparison == "ia-vit vs vit: per-image correctness on the 1,000 test images"
    assert row.unit == "image" and row.n == 1000 and row.effect == pytest.approx(-0.01)
    d = np.r_[np.zeros(850), -np.ones(10), np.zeros(140)]  # the paired differences, by hand
    half = stats.t.ppf(0.95, 999) * d.std(ddof=1) / np.sqrt(1000)
    assert (row.ci90_low, row.ci90_high) == pytest.approx((-0.01 - half, -0.01 + half))
    assert row.status == "inconclusive"  # the 90% interval [-1.5, -0.5] points straddles the -1 point margin
    text = verdict_markdown(verdict(results, METRICS_INFO, models, RECORDED_EXPLAINERS, None, correctness),
                            models)
    assert ("-1.00 points against its plain ViT on the 1,000 test images (n = 1,000 image pairs: a statement about "
            "these trained models, not across training runs)") in text


def test_ablation_that_worsens_deletion() -> None:
    results = tie(scores(WIN), ("ia-vit", "ia-vit"), ("ia-vit-no-align", "ia-vit"))
    worse = results.model.eq("ia-vit-no-align") & results.metric.eq("deletion")
    results.loc[worse, "value"] += 0.15
    claims = verdict(results, METRICS_INFO, models_json(ablation=True))
    fourth = rows_of(claims, "iv").set_index("comparison")
    assert (fourth.model == "ia-vit-no-align").all() and len(fourth) == 2
    assert fourth.loc["ia-vit-no-align/ia-vit vs ia-vit/ia-vit on deletion", "status"] == "worsens"
    assert fourth.loc["ia-vit-no-align/ia-vit vs ia-vit/ia-vit on insertion", "status"] == "no effect larger than δ"
    text = verdict_markdown(claims, models_json(ablation=True))
    paragraph = next(p for p in text.split("\n\n") if p.startswith("**Claim (iv)**"))
    assert paragraph.endswith("Ablations, each against the IA-ViT of its own recipe: ia-vit-no-align (no alignment "
                              f"term) worsens deletion/zeros/pixel by {fourth.effect.min():+.3g} "
                              f"[{fourth.ci_low.min():+.3g}, {fourth.ci_high.min():+.3g}].")
    assert fourth.effect.min() == pytest.approx(-0.15, abs=0.01)


@pytest.mark.parametrize(("level", "status"), [(0.5, "holds"), (0.99, "does not hold"), (0.9, "inconclusive")])
def test_entropy_far_from_uniform(level: float, status: str) -> None:
    fifth = rows_of(verdict(with_entropy(scores(WIN), level), METRICS_INFO, models_json()), "v")
    assert fifth.status.tolist() == [status] and fifth.unit.iloc[0] == "seed"
    assert fifth.effect.iloc[0] == pytest.approx(0.9 - level, abs=0.01)  # positive = further below uniform


def test_foreground_mass_is_an_info_row_beside_random() -> None:
    info = {**METRICS_INFO, "foreground-mass": {"name": "foreground-mass", "direction": "higher"}}
    results = pd.concat([with_entropy(scores(WIN), 0.5), scores({("ia-vit", "ia-vit"): {"foreground-mass": 1.8},
                                                                  ("ia-vit", "random"): {"foreground-mass": 1.0}})])
    fifth = rows_of(verdict(results, info, models_json()), "v")
    assert fifth.status.tolist() == ["holds", "info"]
    assert "1.8 beside ia-vit/random 1" in fifth.comparison.iloc[1]


def test_missing_inputs_are_inconclusive_rows_not_errors() -> None:
    no_random = {k: v for k, v in WIN.items() if k[1] not in ("random", "random-patch", "rollout")}
    claims = verdict(scores(no_random), METRICS_INFO, models_json())
    first = rows_of(claims, "i")
    assert first.status.tolist() == ["inconclusive"]
    assert first.comparison.iloc[0].startswith("no control at the interpreter's resolution (random-patch or")
    only_pixel = {k: v for k, v in WIN.items() if k[1] != "random-patch"}  # a pixel control cannot decide
    first = rows_of(verdict(scores(only_pixel), METRICS_INFO, models_json()), "i")
    assert first.status.tolist() == ["inconclusive", "info", "info"] and overall(first.status) == "inconclusive"
    second = rows_of(claims, "ii").set_index("comparison")
    assert second.loc["ia-vit/rollout not in this run", "status"] == "inconclusive"
    assert overall(second.status) == "inconclusive"  # attention holds, rollout is missing
    assert rows_of(claims, "v").comparison.tolist() == ["entropy metric not in this run"]
    assert rows_of(claims, "iv").comparison.tolist() == ["no ablation variant in this run"]
    only_entropy = {"entropy": METRICS_INFO["entropy"]}
    claims = verdict(with_entropy(scores({("vit", "attention"): {"entropy": 0.7}}), 0.5), only_entropy, {})
    first = rows_of(claims, "i").comparison.tolist()  # no control, and no protocol to compare on
    assert first[0].startswith("no control at") and first[1].startswith("no faithfulness metric") and len(first) == 2
    assert verdict(scores({("vit", "attention"): {"deletion": 0.3}}), METRICS_INFO, {}).empty  # no IA-ViT at all


def test_markdown_one_paragraph_per_claim_with_the_statuses() -> None:
    claims = verdict(with_entropy(scores(WIN), 0.5), METRICS_INFO, models_json())
    text = verdict_markdown(claims, models_json())
    paragraphs = [p for p in text.split("\n\n") if p.startswith("**Claim (")]
    assert [p.split(")")[0] for p in paragraphs] == ["**Claim (i", "**Claim (ii", "**Claim (iii", "**Claim (iv",
                                                     "**Claim (v"]
    first = rows_of(claims, "i")
    closest = first[first.status == "holds"].sort_values("p_value").iloc[-1]  # the weakest of the rows that hold
    assert paragraphs[0].endswith(
        "Holds for ia-vit: better than random-patch under all 2 protocols; the closest, "
        f"{closest.protocol.replace(' unit', '').replace(', ', '/')} vs random-patch: {closest.effect:+.3g} "
        f"[{closest.ci_low:+.3g}, {closest.ci_high:+.3g}].")
    third = rows_of(claims, "iii").iloc[0]
    assert paragraphs[2].endswith(f"Holds for ia-vit: {third.effect * 100:+.2f} points against its plain ViT over 3 "
                                  f"seeds, 90% interval [{third.ci90_low * 100:+.2f}, {third.ci90_high * 100:+.2f}] "
                                  f"against the ±1 point margin (TOST p = {third.tost_p_holm:.2g}).")
    assert "Holds for ia-vit: mean normalised entropy 0.49" in paragraphs[4]
    table = text.split("\n\n")[-1]
    assert table.startswith("| claim | model | comparison | protocol | control | status |")
    assert table.rstrip("\n").count("\n") == len(claims) + 1  # header, rule, one line per row


def test_build_report_puts_the_verdict_first(tmp_path) -> None:
    results = with_entropy(scores(WIN), 0.5).sample(frac=1.0, random_state=0)
    results.to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "metrics.json").write_text(json.dumps(METRICS_INFO))
    (tmp_path / "explainers.json").write_text(json.dumps(RECORDED_EXPLAINERS))
    (tmp_path / "models.json").write_text(json.dumps(models_json()))
    written = {p.name for p in build_report(tmp_path)}
    assert {"verdict.csv", "verdict.md"} <= written
    lines = (tmp_path / "verdict.md").read_text().splitlines()
    assert lines[0].startswith("# Verdict") and lines[4].startswith("**Claim (i)**: ")
    assert pd.read_csv(tmp_path / "verdict.csv").columns.tolist() == COLUMNS
    md = (tmp_path / "report.md").read_text()
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[:3] == ["## What was run", "## What it says", "## Verdict"]  # what it says, then the verdict
    assert md.index("**Claim (v)**") < md.index("## Summary") and " · seeds [0.1" in md  # deletion 0.2 +- seeds
    page = (tmp_path / "report.html").read_text()
    assert page.index("<h2>Verdict</h2>") < page.index("<h2>Summary</h2>") and "<strong>Claim (i)</strong>" in page
    assert "seed" in pd.read_csv(tmp_path / "significance.csv").unit.tolist()
    (tmp_path / "models.json").write_text(json.dumps({"vit": models_json()["vit"]}))  # no IA-ViT: no verdict
    (tmp_path / "verdict.md").unlink()
    assert "verdict.md" not in {p.name for p in build_report(tmp_path)} and "## Verdict" not in (
        tmp_path / "report.md").read_text()


# -- controls at the map's resolution, protocols, multiplicity ---------------------------------------------------
EXPLAINERS_INFO = explainer_records({"ia-vit": {"name": "ia-vit", "family": "intrinsic", "resolution": "patch"},
                   "random-patch": {"name": "random-patch", "family": "control", "resolution": "patch"},
                   "shuffled:ia-vit": {"name": "shuffled", "family": "control", "resolution": "patch",
                                       "shuffles": "ia-vit"},
                   "random": {"name": "random", "family": "control", "resolution": "pixel"}})
PROTOCOLS = metric_records({
    "deletion": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "pixel"},
             "deletion[patch]": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "patch"}})


def test_a_patch_map_that_beats_random_patch_but_loses_to_pixel_noise_holds_by_its_matched_control() -> None:
    levels = {("ia-vit", "ia-vit"): {"deletion": 0.30}, ("ia-vit", "random-patch"): {"deletion": 0.40},
              ("ia-vit", "shuffled:ia-vit"): {"deletion": 0.42}, ("ia-vit", "random"): {"deletion": 0.25}}
    claims = verdict(scores(levels), {"deletion": PROTOCOLS["deletion"]}, models_json(), EXPLAINERS_INFO)
    first = rows_of(claims, "i").set_index("comparison")
    assert first.control.tolist() == ["matched (patch)", "matched (patch)",
                                      "not matched (pixel control, patch map): for reference only"]
    assert first.status.tolist() == ["holds", "holds", "info"] and overall(first.status) == "holds"
    assert first.loc["ia-vit/ia-vit vs ia-vit/random on deletion", "effect"] < -0.04  # it loses to pixel noise
    assert set(first.protocol) == {"deletion, zeros, pixel unit"}
    text = verdict_markdown(claims, models_json())
    # one protocol and two comparators: 2 rows, not "2 protocols"
    assert "Holds for ia-vit: better than random-patch and shuffled:ia-vit under all 2 rows (1 protocol × 2 " \
           "comparators)" in text
    assert "| not matched (pixel control, patch map): for reference only | info |" in text  # shown, not deciding


def test_a_claim_that_holds_under_one_unit_only_says_under_which() -> None:
    rng = np.random.default_rng(3)
    rows = [("r", seed, "ia-vit", explainer, metric, s, level + rng.normal(0, 0.02))
            for seed in (0, 1, 2) for s in range(SAMPLES) for explainer, metric, level in (
                ("ia-vit", "deletion", 0.40), ("random-patch", "deletion", 0.30),
                ("ia-vit", "deletion[patch]", 0.20), ("random-patch", "deletion[patch]", 0.35))]
    claims = verdict(pd.DataFrame(rows, columns=COLUMNS_RESULTS), PROTOCOLS, models_json(), EXPLAINERS_INFO)
    first = rows_of(claims, "i").set_index("protocol")
    assert first.loc["deletion, zeros, patch unit", "status"] == "holds"
    assert first.loc["deletion, zeros, pixel unit", "status"] == "does not hold"
    paragraph = next(p for p in verdict_markdown(claims, models_json()).split("\n\n") if p.startswith("**Claim (i)"))
    assert "Does not hold for ia-vit: random-patch is better under 1 of 2 protocols, by up to 0.0962 " \
           "(deletion/zeros/pixel vs random-patch: -0.0962 [" in paragraph
    assert paragraph.endswith("]), while it is better than random-patch under 1 (deletion/zeros/patch).")
    pixel = first.loc["deletion, zeros, pixel unit"]  # its variance shares stay in the table
    shares = f"| {pixel.seed_share * 100:.0f} / {pixel.image_share * 100:.0f} / {pixel.rest_share * 100:.0f} % |"
    assert pixel.image_share > 0.1 and shares in verdict_markdown(claims, models_json())


def test_the_skewed_image_case_is_not_a_win_in_the_verdict() -> None:
    """Deletion 0.01 lower than random-patch on 54 images, 0.06 higher on 10: the mean says ~0, so it must not
    hold (a Wilcoxon p beside the mean effect called it better at p = 0.001)."""
    shift = np.array([-0.01] * 54 + [0.06] * 10)
    rows = [("r", 0, "ia-vit", e, "deletion", s, 0.3 + (shift[s] if e == "ia-vit" else 0.0))
            for s in range(64) for e in ("ia-vit", "random-patch")]
    claims = verdict(pd.DataFrame(rows, columns=COLUMNS_RESULTS), {"deletion": PROTOCOLS["deletion"]},
                     models_json(), EXPLAINERS_INFO)
    first = rows_of(claims, "i").iloc[0]
    assert first.unit == "image" and first.effect == pytest.approx(-0.0009375) and first.p_value > 0.5
    assert first.status == "no effect larger than δ"


def test_ablations_are_one_holm_family_and_claims_are_intersection_union_tests() -> None:
    from statsmodels.stats.multitest import multipletests

    info = models_json(ablation=True)
    info["ia-vit-align-10"] = dict(info["ia-vit-no-align"], description="lambda 10")
    levels = {**WIN, ("ia-vit-no-align", "ia-vit"): {"insertion": 0.78, "deletion": 0.23},
              ("ia-vit-align-10", "ia-vit"): {"insertion": 0.70, "deletion": 0.22}}
    claims = verdict(scores(levels, noise=0.05), METRICS_INFO, info)
    fourth = rows_of(claims, "iv")
    assert len(fourth) == 4 and set(fourth.model) == {"ia-vit-no-align", "ia-vit-align-10"}
    np.testing.assert_allclose(fourth.p_holm, multipletests(fourth.p_value, method="holm")[1], rtol=1e-12)
    first = rows_of(claims, "i")
    decided = first[first.status != "info"]
    assert (decided.status == "holds").all() and (decided.p_value < 0.05).all()
    assert (decided.p_holm >= decided.p_value).all()  # "holds" is read at the unadjusted p (IUT), Holm for the rest


def test_verdict_settings_come_from_the_suite_and_change_the_answer(tmp_path) -> None:
    results = tie(scores({("ia-vit", "ia-vit"): {"insertion": 0.6, "deletion": 0.3}}), ("ia-vit", "ia-vit"),
                  ("ia-vit", "random-patch"))
    results.to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "metrics.json").write_text(json.dumps(METRICS_INFO))
    (tmp_path / "explainers.json").write_text(json.dumps(RECORDED_EXPLAINERS))
    (tmp_path / "models.json").write_text(json.dumps(models_json()))
    build_report(tmp_path)
    assert set(rows_of(pd.read_csv(tmp_path / "verdict.csv"), "i").status) == {"no effect larger than δ"}
    (tmp_path / "manifest.json").write_text(json.dumps({"config": {"verdict": {"delta": 0.0}}}))
    build_report(tmp_path)  # δ = 0: no equivalence can be shown
    assert set(rows_of(pd.read_csv(tmp_path / "verdict.csv"), "i").status) == {"inconclusive"}
    assert "δ = 0 AUC" in (tmp_path / "verdict.md").read_text()
