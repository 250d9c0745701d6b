"""The explanation cache: a map is reused for the same inputs and recomputed when the explainer's code changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

import iabench.pipeline.explain as explain_stage
from iabench.baselines import EXPLAINERS, Explainer
from iabench.pipeline.explain import Explanations, FailureLog
from iabench.suites import MethodSpec


class _Counting(Explainer):
    name = "counting"
    calls = 0

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        type(self).calls += 1
        return inputs.sum(dim=1) * (type(self).calls)


def _counting_cache(tmp_path: Path) -> tuple[Explanations, Callable[[], torch.Tensor]]:
    """The counting explainer behind a cache in ``tmp_path`` (its call count reset), and one fixed chunk to explain."""
    _Counting.calls = 0
    explanations = Explanations([MethodSpec("counting")], {"counting": _Counting}, "label", tmp_path,
                                FailureLog(None))
    images, targets = torch.randn(2, 1, 4, 4), torch.tensor([0, 1])

    def explain() -> torch.Tensor:
        return explanations(torch.nn.Identity(), "model-key", "counting", images, targets, [0, 1], 0, "vit")

    return explanations, explain


def test_cached_map_is_reused_until_the_explainer_source_changes(tmp_path: Path, monkeypatch) -> None:
    explanations, explain = _counting_cache(tmp_path)

    first = explain()
    assert torch.equal(explain(), first) and _Counting.calls == 1  # from the cache
    assert len(list((tmp_path / "explanations").glob("counting-*.pt"))) == 1
    monkeypatch.setattr(explain_stage, "source_digest", lambda cls: "edited")
    assert torch.equal(explain(), 2 * first) and _Counting.calls == 2  # recomputed: a new key
    assert len(list((tmp_path / "explanations").glob("counting-*.pt"))) == 2


def test_the_digest_covers_shared_rules_and_changes_with_any_of_them(tmp_path: Path) -> None:
    sources = {path.name for path in explain_stage.explainer_sources(EXPLAINERS.get("attnlrp"))}
    # a change to a shared rule, helper or substrate must reach every explainer built on it
    assert {"attnlrp.py", "_lrp_rules.py", "lrp.py", "_vit.py", "_chefer_lrp.py", "attention.py",
            "substrates.py"} <= sources
    files = [tmp_path / "a.py", tmp_path / "b.py"]
    for path in files:
        path.write_text("x = 1\n")
    before = explain_stage.digest_of(files)
    files[1].write_text("x = 2\n")
    assert explain_stage.digest_of(files) != before


def test_a_cached_failure_is_recomputed_not_served(tmp_path: Path) -> None:
    """An all-NaN map in the cache (what a failed map was, when earlier versions cached it) is a miss: the map is
    computed again and the cache file replaced; a map with one NaN sample (an explainer's own result) is served."""
    explanations, explain = _counting_cache(tmp_path)

    first = explain()
    (path,) = (tmp_path / "explanations").glob("counting-*.pt")
    torch.save(torch.full_like(first, float("nan")), path)  # the poisoned entry
    again = explain()
    assert explanations.computed and _Counting.calls == 2 and torch.equal(again, 2 * first)
    assert torch.equal(torch.load(path, weights_only=True), again)  # replaced by the computed map
    partial = again.clone()
    partial[0] = float("nan")
    torch.save(partial, path)
    assert torch.equal(explain().nan_to_num(7.0), partial.nan_to_num(7.0)) and not explanations.computed
