"""The line a run prints before any work: what it will train or load, what it will explain and score, and how long
that should take on this machine (from ``costs.CostBook``: this machine's own measurements, else the reference's)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..suites import Suite
from ..training.cache import checkpoint_path
from ..training.parallel import threads_per_process
from .costs import CostBook, cost_key, duration, shape_key
from .plan import hashable_data, work_items
from .score import Scorer, method_cost_key, pending_images

log = logging.getLogger("iabench")


@dataclass
class Estimate:
    """Seconds per stage, where they came from, and the work no measurement covers."""

    seconds: dict[str, float] = field(default_factory=lambda: {"training": 0.0, "explain+score": 0.0, "the rest": 0.0})
    sources: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)

    def rate(self, found: tuple[float, str] | None, what: str) -> float:
        """Seconds per unit of ``found`` (a ``CostBook.lookup``), its source noted; 0 and ``what`` noted as not
        counted when nothing has measured it."""
        if found is None:
            self.unknown.append(what)
            return 0.0
        self.sources.add(found[1])
        return found[0]

    def record(self) -> dict[str, object]:
        """manifest.json's ``estimate``: seconds per stage (keyed as the manifest's ``timings``), sources, work
        not counted."""
        return {"train": round(self.seconds["training"], 2), "explain+score": round(self.seconds["explain+score"], 2),
                "rest": round(self.seconds["the rest"], 2), "sources": sorted(self.sources),
                "not_counted": sorted(set(self.unknown))}

    def text(self) -> str:
        stages = ", ".join(f"{k} {duration(v)}" for k, v in self.seconds.items() if v >= 0.5)
        source = {frozenset({"measured"}): "from costs measured on this machine",
                  frozenset({"reference"}): "from the reference machine's costs (2 cores); this machine has not "
                                            "timed this work yet",
                  frozenset({"measured", "reference"}): "from this machine's costs and the reference machine's"}
        line = f"estimated {duration(sum(self.seconds.values()))}" + (f" ({stages})" if stages else "")
        line += f", {source[frozenset(self.sources)]}" if self.sources else ""
        if self.unknown:
            shown = sorted(set(self.unknown))
            line += f"; not counted, never timed: {', '.join(shown[:4])}" + (" ..." if len(shown) > 4 else "")
        return line


def models_part(suite: Suite, cache_dir: Path, train_size: int, device: torch.device, jobs: int, book: CostBook,
                estimate: Estimate) -> str:
    """'train 2 models (...), load 1 from the cache' and their training seconds counted into ``estimate``."""
    todo, cached = [], 0
    for seed in suite.seeds:
        for variant in (v for v in suite.models if seed in v.seeds):
            train = dataclasses.replace(variant.train, seed=seed)
            if checkpoint_path(cache_dir, variant.kind, variant.model, train, hashable_data(suite.data)).exists():
                cached += 1
                continue
            steps = train.max_steps or train.epochs * (train_size // train.batch_size)
            todo.append((f"{variant.name}/seed{seed}", variant, steps))
    processes = min(jobs, len(todo)) if device.type == "cpu" and len(todo) > 1 else 1
    threads = threads_per_process(processes) if processes > 1 else torch.get_num_threads()
    each = [estimate.rate(book.lookup(train_key(variant.kind, variant.model, variant.train, device, threads)),
                          f"training {name}") * steps for name, variant, steps in todo]
    if processes > 1 and each:  # longest first on `processes` processes: at least the longest, at least the even share
        estimate.seconds["training"] += max(max(each), sum(each) / processes)
    else:
        estimate.seconds["training"] += sum(each)
    steps = sorted({s for _, _, s in todo})
    text = (f"train {len(todo)} model{'s' if len(todo) != 1 else ''} ({', '.join(n for n, _, _ in todo)}; "
            f"{'/'.join(f'{s:,}' for s in steps)} steps"
            + (f", {processes} processes)" if processes > 1 else ")")) if todo else "train none"
    return text + f", load {cached} from the cache"


def scoring_part(suite: Suite, scorer: Scorer, shapes: dict[str, tuple[str, str]], parts: int, book: CostBook,
                 estimate: Estimate) -> str:
    """'explain+score 16 explainers x 9 metrics x 200 images' and its seconds counted into ``estimate``;
    ``shapes``: variant name -> (kind, shape key)."""
    seconds, left = 0.0, 0
    for seed in suite.seeds:
        for item in work_items(suite, scorer.explanations.classes, seed):
            kind, shape = shapes[item.model]
            pending = {label: count for label, count in pending_images(scorer, item, kind).items() if count}
            for label, count in pending.items():
                seconds += count * estimate.rate(book.lookup(method_cost_key(scorer, "metric", label, shape)),
                                                 f"{label} on {item.model}")
            if item.explainer is not None and pending:
                key = method_cost_key(scorer, "explain", item.explainer, shape)
                seconds += max(pending.values()) * estimate.rate(book.lookup(key), f"{item.explainer} on {item.model}")
            left += sum(pending.values())
    estimate.seconds["explain+score"] = seconds / max(1, parts)
    if not left:
        return "explain+score: every score is stored already"
    text = (f"explain+score {len(suite.explainers)} explainers x {len(suite.metrics)} metrics x "
            f"{len(scorer.samples.indices)} images")
    return text + (f" ({parts} processes)" if parts > 1 else "")


def train_key(kind: str, model: object, train: object, device: torch.device, threads: int) -> str:
    """The key of a training step's seconds: the model's shape and batch size, the device, threads per process."""
    return cost_key("train", device, threads, f"b{train.batch_size}", shape_key(kind, model))  # type: ignore[attr-defined]


def rest_keys(suite: Suite, device: torch.device) -> list[str]:
    """The keys of a run's fixed seconds (data, files, report): per suite, then per dataset (what a suite never run
    on this machine is estimated from: another suite's run on the same data)."""
    return [cost_key("rest", device, 0, suite.name, "run"), cost_key("rest", device, 0, f"data:{suite.data.name}",
                                                                     "run")]


def record_training(costs: CostBook, suite: Suite, seconds: dict[str, float], threads: int, train_size: int,
                    device: torch.device) -> None:
    """Count the seconds per step of each model trained now (by name, variant/seedS), trained with ``threads``
    intra-op threads per process."""
    for variant in suite.models:
        for seed in variant.seeds:
            name = f"{variant.name}/seed{seed}"
            if seconds.get(name):
                steps = variant.train.max_steps or variant.train.epochs * (train_size // variant.train.batch_size)
                costs.add(train_key(variant.kind, variant.model, variant.train, device, threads), seconds[name], steps)


def plan_line(suite: Suite, train_size: int, given: str, cache_dir: Path, device: torch.device, jobs: int,
              costs: CostBook, scoring_plan: Callable[[Estimate], str]) -> Estimate:
    """Logs 'plan: train 2 models (...), load 0 from the cache; explain+score ...; estimated ...' (``given``: what
    replaces the training line when a checkpoint is evaluated; ``scoring_plan``: the explain+score part, e.g.
    ``Evaluation.plan``) and returns the estimate (the manifest records it beside the stages' measured seconds)."""
    estimate = Estimate()
    models = given or models_part(suite, cache_dir, train_size, device, jobs, costs, estimate)
    scoring = scoring_plan(estimate)
    found = next(filter(None, map(costs.lookup, rest_keys(suite, device))), None)  # unknown is left out
    estimate.seconds["the rest"] = estimate.rate(found, "") if found else 0.0
    log.info("plan: %s; %s; %s", models, scoring, estimate.text())
    return estimate
