"""Stages 3 and 4 of a run, explain and score: every work item of every seed, in this process or in local parts
(``parts``), into the run's results files; what it will cost is said first (``estimate``)."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..store import ResultStore
from ..suites import Suite
from .costs import CostBook, shape_key
from .estimate import Estimate, scoring_part
from .explain import Explanations, FailureLog
from .parts import fold_parts, score_in_parts
from .plan import work_items
from .samples import Samples
from .score import Scorer, Subject
from .shards import Shard

log = logging.getLogger("iabench")


@dataclass
class Evaluation:
    """What explaining and scoring a run needs; ``trained`` is filled once the models are there."""

    suite: Suite
    run_dir: Path
    run_id: str
    classes: dict[str, type]  # explainer label -> class
    metrics: dict[str, Any]  # metric label -> metric
    samples: Samples
    device: torch.device
    cache_dir: Path
    costs: CostBook
    failures: FailureLog  # the run's own (a --shard run: its shard's)
    shard: Shard  # this process's share of a --shard or torchrun run (one shard: the whole run)
    trained: dict = field(default_factory=dict)  # (seed, variant name) -> TrainedModel

    def explanations(self, failures: FailureLog | None = None) -> Explanations:
        return Explanations(self.suite.explainers, self.classes, self.suite.target, self.cache_dir,
                            failures or self.failures)

    def shapes(self) -> dict[str, tuple[str, str]]:
        """variant name -> (kind, shape key) of each model variant."""
        return {v.name: (v.kind, shape_key(v.kind, v.model)) for v in self.suite.models}

    def _scorer(self, part: Shard, store: ResultStore, failures: FailureLog | None = None) -> Scorer:
        return Scorer(self.metrics, self.explanations(failures), store, self.samples, self.device, self.suite.target,
                      self.suite.batch_size, part, self.suite.metrics, self.costs)

    def plan(self, parts: int, estimate: Estimate) -> str:
        """What is left to explain and score (what a stopped run stored is not counted), its seconds counted into
        ``estimate``. Folds what the processes of a stopped run left first."""
        if self.shard.count == 1:
            fold_parts(self.run_dir, self.run_id)
        scorer = self._scorer(self.shard, ResultStore(self.run_dir, self.run_id, self.shard.suffix))
        return scoring_part(self.suite, scorer, self.shapes(), parts, self.costs, estimate)

    def run(self, parts: int, progress: bool) -> int:
        """Explain and score every work item in ``parts`` processes; returns the failures recorded."""
        items = sum(len(work_items(self.suite, self.classes, seed)) for seed in self.suite.seeds)
        with tqdm(total=items * parts, desc="explain+score", disable=not progress, dynamic_ncols=True) as bar:
            if parts == 1:
                failures = self.score_part(self.shard, bar.update)[0]
            else:
                log.info("explain+score: %d processes of 1 thread each", parts)
                failures, costs = score_in_parts(parts, self.score_part, bar.update)
                self.costs.merge(costs)
                fold_parts(self.run_dir, self.run_id)
        self.costs.save()  # as soon as the stage ends: a run stopped later still teaches the next estimate
        return failures

    def score_part(self, part: Shard, tick: Callable[[int], None]) -> tuple[int, dict[str, list[float]]]:
        """Score ``part``'s chunks of every work item into its own files (a local part: its part files, the run's
        results counting as done; else the files of ``part``). Returns the failures it recorded and the costs it
        measured."""
        local = part.kind == "part"
        seen = self.run_dir / "results.csv" if local else None
        store = ResultStore(self.run_dir, self.run_id, part.suffix, seen=seen)
        failures = FailureLog(self.run_dir, part.suffix) if local else self.failures
        before, measured = failures.count, {k: list(v) for k, v in self.costs.new.items()}
        scorer = self._scorer(part, store, failures)
        shapes = self.shapes()
        items = [item for seed in self.suite.seeds for item in work_items(self.suite, self.classes, seed)]
        # a local part takes every count-th (work item, chunk) pair, so that even one chunk per item is shared out
        pairs = [(i, chunk) for i in range(len(items)) for chunk in self.samples.chunks(self.suite.batch_size)]
        mine = pairs[part.index::part.count] if local else [(i, chunk) for i in range(len(items)) for chunk in
                                                           scorer.chunks]
        for i, item in enumerate(items):
            trained = self.trained[(item.seed, item.model)]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                scorer(item, Subject(trained.model, trained.kind, trained.key, shapes[item.model][1]),
                       [chunk for j, chunk in mine if j == i])
            _log_warnings(caught, f"{item.model}/{item.explainer or 'model metrics'}")
            tick(1)
        store.finalize()
        added = {k: [s - measured.get(k, [0.0, 0.0])[0], u - measured.get(k, [0.0, 0.0])[1]]
                 for k, (s, u) in self.costs.new.items()}
        return failures.count - before, {k: v for k, v in added.items() if v[1] > 0}


# the folders of our code (the explainers and metrics install as sub-packages but live in folders of their own)
OURS = tuple(str(Path(importlib.util.find_spec(name).origin).parent) for name in ("iabench", "iabench.baselines",
                                                                                 "iabench.metrics"))


def _log_warnings(caught: list[warnings.WarningMessage], where: str) -> None:
    """Our own warnings (e.g. a constant map scored in raster order) as one log line each, naming the model and
    explainer they are about, instead of a source line on the terminal; a library's warning is shown as usual."""
    for message in dict.fromkeys((w.message.__class__, str(w.message), w.filename, w.lineno) for w in caught):
        category, text, filename, line = message
        if filename.startswith(OURS):
            log.warning("%s: %s", where, text)
        else:
            warnings.warn_explicit(text, category, filename, line)
