"""The explanation cache: a map is reused for the same inputs and recomputed when the explainer's code changes."""

from __future__ import annotations

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


def test_cached_map_is_reused_until_the_explainer_source_changes(tmp_path: Path, monkeypatch) -> None:
    explanations = Explanations([MethodSpec("counting")], {"counting": _Counting}, "label", tmp_path,
                                FailureLog(None))
    images, targets = torch.randn(2, 1, 4, 4), torch.tensor([0, 1])

    def explain() -> torch.Tensor:
        return explanations(torch.nn.Identity(), "model-key", "counting", images, targets, [0, 1], 0, "vit")

    first = explain()
    assert torch.equal(explain(), first) and _Counting.calls == 1  # from the cache
    assert len(list((tmp_path / "explanations").glob("counting-*.pt"))) == 1
    monkeypatch.setattr(explain_stage, "source_digest", lambda cls: "edited")
    assert torch.equal(explain(), 2 * first) and _Counting.calls == 2  # recomputed: a new key
    assert len(list((tmp_path / "explanations").glob("counting-*.pt"))) == 2


def test_source_digest_follows_the_module_text() -> None:
    import hashlib
    import inspect
    import sys

    cls = EXPLAINERS.get("attnlrp")
    text = inspect.getsource(sys.modules[cls.__module__])
    assert explain_stage.source_digest(cls) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert explain_stage.source_digest(cls) != explain_stage.source_digest(EXPLAINERS.get("lrp"))
