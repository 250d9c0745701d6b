"""The verdict's words (iabench.reporting.verdict.words) with known answers: numbers without float noise, ranges,
the comparator a row names, row counts, what would settle an open row, what it could detect."""

from __future__ import annotations

from types import SimpleNamespace

from iabench.reporting.verdict.words import comparator, counted, detectable_text, num, settle, span


def rows(**fields: object) -> SimpleNamespace:
    base = dict(comparison="ia-vit/ia-vit vs ia-vit/random-patch on deletion", protocol="deletion, zeros, pixel unit",
                unit="seed", seed_share=float("nan"), mde=float("nan"), mde_holm=float("nan"))
    return SimpleNamespace(**{**base, **fields})


def test_numbers_lose_their_float_noise_and_their_negative_zero() -> None:
    assert num(-3e-17) == "+0" and num(-0.0) == "+0" and num(0.0774) == "+0.0774"
    assert num(1.4e-9, ".2g") == "1e-09"  # kept to 9 decimals: rounding noise gone, a real small value not
    assert num(float("nan")) == ""


def test_a_range_of_one_value_is_one_value() -> None:
    assert span([0.034, 0.062, 0.05]) == "0.034 to 0.062"
    assert span([0.0501, 0.0499]) == "0.05"  # the same at two digits
    assert span([0.05]) == "0.05"


def test_the_comparator_and_the_rows_counted() -> None:
    shuffled = rows(comparison="ia-vit-short/ia-vit vs ia-vit-short/shuffled:ia-vit on deletion[patch]")
    assert comparator(shuffled) == "shuffled:ia-vit"
    two = [rows(), rows(comparison="ia-vit/ia-vit vs ia-vit/shuffled:ia-vit on deletion"),
           rows(protocol="deletion, zeros, patch unit"), rows(protocol="deletion, zeros, patch unit",
                                                               comparison="ia-vit/ia-vit vs ia-vit/x on d")]
    assert counted(two) == "4 rows"  # not every protocol with every comparator: no product to name
    assert counted([rows()]) == "1 protocol" and counted([rows(), rows(protocol="p")]) == "2 protocols"


def test_what_would_settle_it() -> None:
    assert settle([rows(seed_share=0.7), rows(seed_share=0.72), rows(unit="image")]) == (
        "more training seeds would settle it (seeds are the unit and the images are held fixed, so more images would "
        "not narrow the interval; 71% of the effects' variance is between seeds)")
    assert settle([rows()]).endswith("narrow the interval)")  # no shares recorded: nothing more said
    assert settle([rows(unit="image")]).startswith("training 3 or more seeds would settle it")
    read = "".join(["se", "ed"])  # as read from a file: equal, not the same object
    assert settle([rows(unit=read)]).startswith("more training seeds")


def test_what_an_open_row_could_detect() -> None:
    assert detectable_text([rows()]) == ""
    assert detectable_text([rows(mde=0.03), rows(mde=0.05)]) == " could detect effects of 0.03 to 0.05"
    assert detectable_text([rows(mde=0.03, mde_holm=0.06), rows(mde=0.05, mde_holm=0.09)]) == (
        " could detect effects of 0.03 to 0.05 in its favour and of 0.06 to 0.09 against it (after Holm over the "
        "claim's rows)")
