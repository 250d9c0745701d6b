"""The verdict as text (iabench.reporting.verdict.text), from hand-made verdict rows with known sentences: the
ablations' sentence, the lead's margins, the protocols a failing claim lists, and the same text from rows read
back from verdict.csv (strings that are new objects)."""

from __future__ import annotations

import io

import pandas as pd

from iabench.config import VerdictConfig
from iabench.reporting.verdict.rows import COLUMNS, row
from iabench.reporting.verdict.text import verdict_markdown, verdict_paragraphs

INFO = {"a-10": {"description": "lambda 10"}, "a-kd": {"description": "no KD"}, "a-half": {"description": "half"}}


def ablation(model: str, protocol: str, status: str, effect: float, mde_holm: float = 0.3) -> dict:
    return row("iv", model, f"{model}/ia-vit vs ia-vit/ia-vit on {protocol}", status, protocol=protocol,
               effect=effect, ci_low=effect - 0.01, ci_high=effect + 0.01, unit="seed", n=3, p_value=0.5,
               mde=0.1, mde_holm=mde_holm)


def rows(*made: dict) -> pd.DataFrame:
    return pd.DataFrame(list(made), columns=COLUMNS)


def test_the_ablations_sentence_counts_each_ablations_own_rows() -> None:
    frame = rows(ablation("a-10", "deletion, zeros, pixel unit", "improves", 0.03),
                 ablation("a-10", "deletion, zeros, patch unit", "improves", 0.05),
                 ablation("a-10", "insertion, zeros, pixel unit", "no detectable effect", 0.0),
                 ablation("a-kd", "deletion, zeros, pixel unit", "no detectable effect", 0.01, 0.4),
                 ablation("a-kd", "deletion, zeros, patch unit", "no detectable effect", 0.0, 0.2))
    text = verdict_paragraphs(frame, INFO)[-1]
    assert text.endswith("Ablations, each against the IA-ViT of its own recipe: a-10 (lambda 10) improves "
                         "deletion/zeros/patch by +0.05 [+0.04, +0.06] and 1 more of 3 protocols; a-kd changes no "
                         "protocol detectably (after Holm over all 5 ablation rows, effects of 0.2 to 0.4 only were "
                         "detectable).")
    two_quiet = rows(ablation("a-kd", "deletion, zeros, pixel unit", "no detectable effect", 0.0),
                     ablation("a-half", "deletion, zeros, pixel unit", "no detectable effect", 0.0))
    assert "a-kd, a-half change no protocol detectably" in verdict_paragraphs(two_quiet, INFO)[-1]


def test_the_lead_names_the_margins_and_a_failing_claim_lists_up_to_three_protocols() -> None:
    lead = verdict_paragraphs(rows(ablation("a-kd", "deletion, zeros, pixel unit", "no detectable effect", 0.0)),
                              INFO, VerdictConfig(delta=0.02, delta_accuracy=0.01))[0]
    assert "with δ = 0.02 AUC and 1 accuracy point as the smallest effects" in lead
    made = [row("ii", "ia-vit", f"ia-vit/ia-vit vs ia-vit/attention on {p}", "holds", protocol=p, effect=0.05,
                ci_low=0.01, ci_high=0.09, unit="seed", n=10, p_value=0.01)
            for p in ("deletion, zeros, pixel unit", "deletion, zeros, patch unit", "insertion, zeros, pixel unit")]
    made.append(row("ii", "ia-vit", "ia-vit/ia-vit vs ia-vit/rollout on deletion, blur, pixel unit", "does not hold",
                    protocol="deletion, blur, pixel unit", effect=-0.1, ci_low=-0.15, ci_high=-0.05, unit="seed",
                    n=10, p_value=0.001))
    text = verdict_paragraphs(rows(*made), INFO)[1]
    assert text.endswith("while it is better than attention under 3 (deletion/zeros/pixel, deletion/zeros/patch, "
                         "insertion/zeros/pixel).")


def test_rows_read_back_from_verdict_csv_give_the_same_text() -> None:
    made = [row("i", "ia-vit", "ia-vit/ia-vit vs ia-vit/random-patch on deletion", "inconclusive",
                protocol="deletion, zeros, pixel unit", effect=0.01, ci_low=-0.02, ci_high=0.04, unit="seed", n=10,
                p_value=0.4, mde=0.03, mde_holm=0.05),
            row("i", "ia-vit", "ia-vit/ia-vit vs ia-vit/random on deletion", "info",
                protocol="deletion, zeros, pixel unit", effect=-0.01, ci_low=-0.02, ci_high=0.0, unit="seed", n=10,
                p_value=0.1),
            row("iii", "ia-vit", "ia-vit vs vit: test accuracy per seed", "holds", effect=-0.002, ci_low=-0.006,
                ci_high=0.002, ci90_low=-0.005, ci90_high=0.001, unit="seed", n=10, tost_p_holm=0.001)]
    frame = rows(*made)
    text = verdict_markdown(frame)
    assert "Inconclusive for ia-vit: better under 0 of 1 protocol and worse under none" in text
    assert "Holds for ia-vit: -0.20 points against its plain ViT over 10 seeds" in text
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    assert verdict_markdown(pd.read_csv(io.StringIO(buffer.getvalue()), keep_default_na=False,
                                        na_values={c: [""] for c in COLUMNS if c not in ("claim", "status")})) == text


def test_info_rows_never_decide_a_claim() -> None:
    from iabench.reporting.verdict.text import overall

    info = "".join(["in", "fo"])  # as read from verdict.csv: equal to "info", not the same object
    assert overall(pd.Series(["holds", info])) == "holds"
    assert overall(pd.Series(["holds", "does not hold", info])) == "does not hold"
    assert overall(pd.Series([info])) == "inconclusive"
