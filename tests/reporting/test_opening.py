"""The report's opening (iabench/reporting/page/opening.py): what was run and what it says, from hand-made run files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iabench.records import metric_records_of
from iabench.refresh import metric_records
from iabench.reporting.page.opening import accuracy_sentence, answer, model_lines, protocol_line, run_lines
from iabench.reporting.protocols import headline_metric
from iabench.reporting.run_files import RunFiles, RunRecords

MODELS = {"ia-vit": {"kind": "ia-vit", "baseline": "vit", "grid": "7x7",
                     "seeds": {"0": {"test_acc": 0.8408, "test_inter_acc": 0.8373, "test_agreement": 0.9745,
                                     "test_images": 10000.0}}},
          "vit": {"kind": "vit", "baseline": "", "grid": "7x7", "seeds": {"0": {"test_acc": 0.8528,
                                                                               "test_images": 10000.0}}}}
METRICS = metric_records({
    "deletion": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "pixel"},
           "deletion[patch]": {"name": "deletion", "direction": "lower", "substrate": "zeros", "unit": "patch"},
           "morf": {"name": "morf", "direction": "lower", "substrate": "zeros", "unit": "patch"},
           "accuracy": {"name": "accuracy", "direction": "higher"}})
EXPLAINERS = {"ia-vit": {"family": "intrinsic", "control": "random-patch"}, "rollout": {"family": "attention"},
              "integrated-gradients": {"family": "gradient", "baseline": "zeros"},
              "random-patch": {"family": "control"}, "random": {"family": "control"}}


def summary(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model", "explainer", "metric", "mean"])


SUMMARY = summary([("ia-vit", "ia-vit", "deletion[patch]", 0.277), ("ia-vit", "random-patch", "deletion[patch]", 0.407),
                   ("ia-vit", "rollout", "deletion[patch]", 0.2), ("ia-vit", "random", "deletion[patch]", 0.1),
                   ("vit", "rollout", "deletion[patch]", 0.25), ("vit", "random-patch", "deletion[patch]", 0.4),
                   ("ia-vit", "ia-vit", "deletion", 0.3), ("ia-vit", "random-patch", "deletion", 0.35)])


def run(models: dict, manifest: dict | None = None) -> RunFiles:
    """A run folder's files as the report reads them: these records, no results needed."""
    return RunFiles(Path("run"), pd.DataFrame(), RunRecords.read(METRICS, EXPLAINERS, models), manifest or {})


def test_what_was_run_names_models_images_and_protocols() -> None:
    assert model_lines(MODELS) == [
        "`ia-vit` (IA-ViT, 7x7 patch grid): test accuracy 84.1 % on 10,000 images; its interpreter 83.7 %, agreeing "
        "with its predictor on 97.5 %",
        "`vit` (plain ViT, 7x7 patch grid): test accuracy 85.3 % on 10,000 images"]
    several = {"vit": {"kind": "vit", "grid": "7x7", "seeds": {"0": {"test_acc": 0.85}, "1": {"test_acc": 0.87}}}}
    assert model_lines(several) == ["`vit` (plain ViT, 7x7 patch grid, 2 training seeds): test accuracy 86.0 ± 1.4 %"]
    assert protocol_line(metric_records_of(METRICS)) == ("deletion (zeros substrate, moving pixels); deletion, morf "
                                                         "(zeros substrate, moving patches)")
    manifest = {"samples": 200, "dataset": {"name": "fashion-mnist"}, "config": {"target": "label", "split": "test"}}
    assert run_lines(run(MODELS, manifest))[2] == (
        "Images: 200 from the test split of fashion-mnist, each explained for its true label (the paper's "
        "protocol); 5 explainers (2 of them controls)")


def test_what_it_says_quotes_the_headline_metric_the_accuracy_gap_and_the_claims() -> None:
    records = metric_records_of(METRICS)
    assert headline_metric(SUMMARY, records) == "deletion[patch]"  # patches before pixels, deletion first
    assert headline_metric(SUMMARY[SUMMARY.metric == "deletion"], records) == "deletion"
    claims = pd.DataFrame({"claim": ["i", "i", "ii", "iv", "v"], "status": ["holds", "holds", "does not hold",
                                                                            "inconclusive", "inconclusive"],
                           "unit": ["image", "image", "image", "", ""], "model": "ia-vit", "comparison": "",
                           "effect": float("nan"), "n": 0})
    text = answer(SUMMARY, run(MODELS), claims)
    assert text == (
        "By `deletion[patch]` (lower is better), IA-ViT's interpreter scores 0.277 against 0.407 for `random-patch`, "
        "random maps of its own resolution: better by this mean. The most faithful maps by this metric: `rollout` on "
        "`ia-vit` (0.200), `rollout` on `vit` (0.250). `ia-vit` is 1.2 points less accurate than its plain ViT `vit` "
        "on the test images above. The verdict on the paper's claims: (i) holds, (ii) does not hold, (v) not checked "
        "(next section). With fewer than 3 training seeds these intervals count images only, not training runs; the "
        "`ia-vit-study` suite repeats the comparison over 10 seeds.")  # random (0.1) is a control: never the best


def test_the_accuracy_gap_is_the_verdicts_number_where_it_decided_one() -> None:
    third = pd.DataFrame({"claim": ["iii"], "status": ["inconclusive"], "unit": ["image"], "model": ["ia-vit"],
                          "comparison": ["ia-vit vs vit: per-image correctness on the 10,000 test images"],
                          "effect": [-0.0086], "n": [10000]})
    assert accuracy_sentence(MODELS, third) == (
        "`ia-vit` is 0.86 points less accurate than its plain ViT `vit` (per-image correctness on the 10,000 test "
        "images; claim (iii) of the verdict).")  # not models.json's 1.2: one number, the verdict's
    seeds = third.assign(unit="seed", effect=0.0031, n=10, comparison="ia-vit vs vit: test accuracy per seed")
    assert accuracy_sentence(MODELS, seeds) == (
        "`ia-vit` is 0.31 points more accurate than its plain ViT `vit` (mean of the per-seed differences over 10 "
        "seeds; claim (iii) of the verdict).")
    assert accuracy_sentence(MODELS, third.assign(unit="")) == (  # not decided: the models' mean accuracies
        "`ia-vit` is 1.2 points less accurate than its plain ViT `vit` on the test images above.")


def test_without_an_ia_vit_it_says_what_it_can() -> None:
    plain = SUMMARY[SUMMARY.model == "vit"]
    text = answer(plain, run({"vit": MODELS["vit"]}), None)
    assert text.startswith("The most faithful maps by this metric: `rollout` on `vit` (0.250).")
    assert "interpreter" not in text and "verdict" not in text
    favoured = pd.concat([plain, summary([("vit", "integrated-gradients", "deletion[patch]", 0.08)])])
    assert answer(favoured, run({}), None).startswith(
        "The most faithful maps by this metric: `integrated-gradients` on `vit` (0.080, favoured: its own baseline is "
        "this metric's substrate).")
