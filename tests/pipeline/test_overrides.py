"""A frozen suite, built once from the suite file and the command line, whose overrides are parsed once; its hash
(the run's identity, the results' ``run`` column) does not move when the code that builds it does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import iabench.config
import iabench.suites.overrides as overrides_module
from iabench.cli import main
from iabench.errors import UserError
from iabench.pipeline.plan import suite_hash
from iabench.suites import included_suites, load_suite
from iabench.suites.overrides import Overrides

# suite -> (hash as shipped, hash with --samples 16 --set train.max_steps=60 --seed 0), as iabench 0.1 wrote them
# run ids as published, before train.encoder_summary's default became mean: given back under encoder_summary sum
PINNED = {"faithfulness": ("42c2068d4dee", "42db478bffe5"), "ia-vit-study": ("f4843c284be8", "23a586f85bb3"),
          "localisation": ("744c32063c0e", "c8e2a34aab40"), "paper": ("d481dac48b6c", "754307cb0ccc")}
PINNED_MEAN = {"faithfulness": ("74cc3dfbdadb", "e1b25ab21fb3"), "ia-vit-study": ("4e6479b3dbc8", "d6f08572a385"),
               "localisation": ("d222e0a1eacb", "8787d0f4ddbb"), "paper": ("0f9382f421be", "ed2d71c08d53")}


def test_the_suite_and_its_parts_are_frozen() -> None:
    suite = load_suite("faithfulness")
    for obj, field in ((suite, "samples"), (suite.models[0], "seeds"), (suite.explainers[0], "label")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, None)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_suite_hashes_stay_as_pinned(name: str) -> None:
    small_run = ["samples=16", "train.max_steps=60", "seeds=[0]"]
    for pinned, extra in ((PINNED_MEAN, []), (PINNED, ["train.encoder_summary=sum"])):
        shipped, small = pinned[name]
        assert suite_hash(load_suite(name, extra)) == shipped
        assert suite_hash(load_suite(name, [*small_run, *extra])) == small


def test_each_set_is_parsed_once_and_flags_are_typed_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    original = iabench.config.parse_override
    monkeypatch.setattr(overrides_module, "parse_override", lambda text: calls.append(text) or original(text))
    suite = load_suite("faithfulness", ["train.epochs=1", "samples=7", "model.depth=2"])
    assert calls == ["train.epochs=1", "samples=7", "model.depth=2"]
    assert suite.samples == 7 and {v.train.epochs for v in suite.models} == {1}
    seen = {}
    monkeypatch.setattr("iabench.runner.run", lambda name, overrides, options: seen.update(o=overrides) or [])
    assert main(["run", "--samples", "3", "--seed", "4", "--data-root", str(tmp_path), "--set", "train.epochs=2"]) == 0
    assert [(o.keys, o.value) for o in seen["o"].items] == [
        (("train", "epochs"), 2), (("samples",), 3), (("seeds",), [4]), (("data", "root"), str(tmp_path))]
    assert isinstance(seen["o"], Overrides) and calls[-1] == "train.epochs=2"  # only --set text is parsed


def test_an_included_suite_takes_its_entry_settings_then_the_command_line(tmp_path: Path) -> None:
    including = tmp_path / "both.yaml"
    including.write_text("include:\n  - evidence-motif\n  - {suite: evidence-motif, set: [data.placement=anywhere, "
                         "train.epochs=7]}\n  - {suite: evidence-garment, set: {samples: 9}}\ncontrast: true\n")
    suite = load_suite(str(including))
    assert suite.contrast and [e.overrides for e in suite.include] == [
        (), ("data.placement=anywhere", "train.epochs=7"), ("samples=9",)]
    plain, anywhere, garment = included_suites(suite, ["train.epochs=5"])
    assert (plain.data.options.placement, anywhere.data.options.placement) == ("cell", "anywhere")
    # the command line comes last: its train.epochs wins over the entry's, for every variant
    assert {v.train.epochs for s in (plain, anywhere) for v in s.models} == {5}
    assert garment.samples == 9 and garment.data.options.task == "garment"
    assert [s.name for s in included_suites(load_suite("evidence"))] == ["evidence-motif", "evidence-garment"]
    # a data option of the included suites' dataset reaches them, not the including suite (which has no data of its
    # own: applied there, it was refused as an option fashion-mnist does not take)
    cli = ["data.placement=anywhere"]
    assert {s.data.options.placement for s in included_suites(load_suite("evidence", cli), cli)} == {"anywhere"}
    for text, message in (("include: [nope]\n", "unknown suite included by"),
                          ("include: [{suite: evidence, sets: []}]\n", "an include entry is a suite name or"),
                          ("include: [evidence]\ncontrast: yes-please\n", "'contrast' must be true or false"),
                          ("explainers: [random]\nmetrics: [deletion]\ncontrast: true\n", "pairs the runs of")):
        including.write_text(text)
        with pytest.raises(UserError, match=message):
            load_suite(str(including))


@pytest.mark.parametrize("text,lr", [("train.lr=2e-3", 0.002), ("train.lr=2.5E-4", 0.00025), ("train.lr=1e+0", 1.0),
                                     ("train.lr=.5e-1", 0.05)])
def test_an_exponent_without_a_dot_is_a_float(text: str, lr: float) -> None:
    # YAML 1.1 reads 2e-3 as a string; a float field takes it as the number it spells
    assert load_suite("faithfulness", [text]).train.lr == pytest.approx(lr, rel=1e-12)


def test_a_word_is_still_no_float() -> None:
    with pytest.raises(UserError, match="train.lr must be a float, got 'e-3'"):
        load_suite("faithfulness", ["train.lr=e-3"])
