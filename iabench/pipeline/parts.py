"""Explain+score on several local processes (``--jobs N`` on a CPU): the run's chunks of images are split as
``--shard`` splits them (part I takes chunks I, I + N, ...), each part computed by its own single-threaded process
into its own files (``results.part-I-of-N.csv``, ``curves...``, ``failures...``), which are folded into the run's
own files when the parts end, and again when a run stopped half-way starts (with any number of processes).

A tiny ViT's explainers keep one core busy with small tensors and gain little from a second intra-op thread, so
two single-threaded processes get through a run's explanations sooner than one process of two threads
(``benchmarks/bench_run.py`` measures both). The processes are forked, so they share the loaded data, models and
explainers with this one at no cost; each sets one intra-op thread before it computes anything (as DataLoader
workers do), which keeps a forked OpenMP runtime safe. Written by hand: torch.multiprocessing would pickle the
models, and no library splits a run's chunks over processes and folds append-only result files back.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import os
import queue
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..store import ResultStore, repair
from ..training.parallel import die_with_parent
from .explain import FAILURE_COLUMNS, FailureLog
from .shards import Shard

log = logging.getLogger("iabench")
PART_FILE = re.compile(r"(?:results|curves|failures)(\.part-\d+-of-\d+)\.csv")
# what a part computes: score_part(part, tick) calls tick(n) after n work items; returns its failure count and the
# costs it measured (costs.CostBook.new: key -> [seconds, units]) added while it ran
ScorePart = Callable[[Shard, Callable[[int], None]], tuple[int, dict[str, list[float]]]]


def part_suffixes(run_dir: Path) -> list[str]:
    """The suffixes (``.part-I-of-N``) of the part files lying in ``run_dir``."""
    return sorted({m[1] for p in Path(run_dir).glob("*.part-*-of-*.csv") if (m := PART_FILE.fullmatch(p.name))})


def fold_parts(run_dir: Path, run_id: str) -> int:
    """Move the rows of every part's files into the run's results.csv, curves.csv and failures.csv (sorted and
    de-duplicated), then delete the part files; returns how many parts were folded. Safe to repeat after a kill at
    any point: rows folded twice are de-duplicated, a torn line is cut off."""
    suffixes = part_suffixes(run_dir)
    if not suffixes:
        return 0
    main = ResultStore(run_dir, run_id)
    failures = Path(run_dir) / "failures.csv"
    for suffix in suffixes:
        main.absorb(ResultStore(run_dir, run_id, suffix))
        part_failures = Path(run_dir) / f"failures{suffix}.csv"
        if part_failures.exists():
            repair(part_failures, FAILURE_COLUMNS)
            repair(failures, FAILURE_COLUMNS)
            with open(part_failures, newline="") as f:
                rows = list(csv.reader(f))[1:]
            with open(failures, "a", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows(rows)
    main.finalize()
    FailureLog(Path(run_dir)).finalize()
    for suffix in suffixes:
        for stem in ("results", "curves", "failures"):
            (Path(run_dir) / f"{stem}{suffix}.csv").unlink(missing_ok=True)
    return len(suffixes)


def score_in_parts(count: int, score_part: ScorePart,
                   tick: Callable[[int], None]) -> tuple[int, dict[str, list[float]]]:
    """Compute parts 1..count-1 in forked processes and part 0 in this one, every process single-threaded; the
    children's progress ticks and log lines come here through a queue. Returns the failures of all parts and the
    costs the children measured (part 0's are this process's own already). A part that fails stops the others and
    raises its error here (a UserError as itself: one line)."""
    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    children = [context.Process(target=_child, args=(score_part, Shard(i, count, "part"), messages, os.getpid()),
                                name=f"iabench-part-{i}") for i in range(1, count)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    outcome: dict[str, Any] = {"failures": 0, "errors": [], "costs": {}}
    try:
        for child in children:
            child.start()
        own = score_part(Shard(0, count, "part"), lambda n: (tick(n), _drain(messages, tick, outcome)))[0]
        outcome["failures"] += own  # not `+=` on the call: the ticks drain the children's counts into it meanwhile
        while any(child.is_alive() for child in children):
            for child in children:
                child.join(timeout=0.2)
            _drain(messages, tick, outcome)
            if outcome["errors"]:
                break
        _drain(messages, tick, outcome)
    finally:
        torch.set_num_threads(threads)
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
    failed = [c.name for c in children if c.exitcode != 0]
    if outcome["errors"] or failed:
        user, message = (outcome["errors"] or [(False, f"{', '.join(failed)} ended with no message")])[0]
        raise UserError(message) if user else RuntimeError(f"explain+score in a part process failed: {message}")
    return outcome["failures"], outcome["costs"]


def _drain(messages: Any, tick: Callable[[int], None], outcome: dict[str, Any]) -> None:
    """Handle every message the children have sent so far: ticks, log lines, their failures and costs, errors."""
    while True:
        try:
            kind, *body = messages.get_nowait()
        except queue.Empty:
            return
        if kind == "tick":
            tick(body[0])
        elif kind == "line":
            log.log(body[0], body[1])
        elif kind == "done":
            outcome["failures"] += body[0]
            for key, (seconds, units) in body[1].items():
                total = outcome["costs"].setdefault(key, [0.0, 0.0])
                total[0], total[1] = total[0] + seconds, total[1] + units
        else:
            outcome["errors"].append((body[0], body[1]))


class _QueueLines(logging.Handler):
    """A child's log lines, sent to the parent (which prints them and writes them to run.log)."""

    def __init__(self, messages: Any) -> None:
        super().__init__()
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.put(("line", record.levelno, record.getMessage()))


def _child(score_part: ScorePart, part: Shard, messages: Any, parent: int) -> None:
    """A forked part process: one intra-op thread, its log lines to the parent, its errors as a message."""
    die_with_parent(parent)
    torch.set_num_threads(1)
    logger = logging.getLogger(log.name)
    logger.handlers = [_QueueLines(messages)]
    logger.propagate = False
    try:
        messages.put(("done", *score_part(part, lambda n: messages.put(("tick", n)))))
    except BaseException as error:  # noqa: BLE001 - every error reaches the parent as one message
        messages.put(("error", isinstance(error, UserError), str(error) or type(error).__name__))
        raise SystemExit(1) from None
