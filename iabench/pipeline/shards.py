"""Sharded evaluation: explaining and scoring split by chunk of samples across processes or machines.

Shard I of N takes chunks I, I + N, I + 2N, ... of the run's samples (the same chunks as a one-process run,
so the same explanation cache entries and the same scores) and appends to its own files,
``results.shard-I-of-N.csv`` / ``curves...`` / ``failures...``, resumable like results.csv. When it has
finished it leaves ``shard-I-of-N.done``. ``merge`` checks that every shard is done and writes results.csv,
curves.csv and failures.csv from them, sorted and de-duplicated. Under torchrun the shard is the rank and
rank 0 merges; elsewhere (SLURM arrays, machines sharing a disk) ``--shard I/N`` and ``iabench merge``.
"""

from __future__ import annotations

import csv
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..store import ResultStore
from .explain import FailureLog


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``; ``kind`` "part" for the local processes of one run (see ``parts``), whose files
    are folded into the run's own files as soon as they finish."""

    index: int = 0
    count: int = 1
    kind: str = "shard"

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
        if not match or not 0 <= int(match[1]) < int(match[2]):
            raise UserError(f"--shard '{text}' is not I/N with 0 <= I < N (e.g. --shard 0/4)")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def for_run(cls, given: str) -> Shard:
        """--shard I/N, or the rank under torchrun (where --shard is refused), or the whole run."""
        if given and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise UserError("--shard is for runs without torchrun; under torchrun each rank is a shard already")
        return cls.parse(given) if given else cls.from_torchrun()

    @classmethod
    def from_torchrun(cls) -> Shard:
        """This process's rank and the world size under torchrun; one shard otherwise."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))

    @property
    def suffix(self) -> str:
        """The shard's file-name infix ("" for a one-process run: its files are the run's own)."""
        return "" if self.count == 1 else f".{self.kind}-{self.index}-of-{self.count}"

    def take(self, chunks: list) -> list:
        return chunks[self.index::self.count]

    def marker(self, run_dir: Path) -> Path:
        return Path(run_dir) / f"shard-{self.index}-of-{self.count}.done"


def merge(run_dir: Path) -> int:
    """Write results.csv, curves.csv and failures.csv from every shard of the run; returns the shard count."""
    run_dir = Path(run_dir)
    counts = {int(m[1]) for p in run_dir.glob("results.shard-*-of-*.csv")
              if (m := re.fullmatch(r"results\.shard-\d+-of-(\d+)\.csv", p.name))}
    if len(counts) != 1:
        raise UserError(f"'{run_dir}' holds {'no shards' if not counts else 'shards of several runs'} "
                        f"({', '.join(map(str, sorted(counts)))}); run each shard with --shard I/N first")
    count = counts.pop()
    pending = [i for i in range(count) if not Shard(i, count).marker(run_dir).exists()]
    if pending:
        raise UserError(f"shard(s) {', '.join(f'{i}/{count}' for i in pending)} of '{run_dir}' have not finished; "
                        "run them (again: they resume) and merge then")
    for stem in ("results", "curves", "failures"):
        parts = [run_dir / f"{stem}{Shard(i, count).suffix}.csv" for i in range(count)]
        rows = [row for part in parts if part.exists() for row in list(csv.reader(part.open(newline="")))[1:]]
        header = next((next(csv.reader(p.open(newline=""))) for p in parts if p.exists()), None)
        if header is None:
            continue
        with open(run_dir / f"{stem}.csv", "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([header, *rows])
    ResultStore(run_dir, "").finalize()  # sorted and de-duplicated, as a one-process run ends
    FailureLog(run_dir).finalize()
    return count


def finish(shard: Shard, run_dir: Path) -> None:
    """Leave the shard's marker, holding this launch's torchrun id (so that rank 0 never waits on a marker left
    by an earlier launch)."""
    shard.marker(run_dir).write_text(os.environ.get("TORCHELASTIC_RUN_ID", ""))


def wait_for_all(shard: Shard, run_dir: Path, poll: float = 1.0) -> None:
    """Rank 0 under torchrun: wait until every rank of this launch has left its marker. (Files, not a process
    group barrier: a shard may take hours, longer than a barrier's timeout; torchrun ends every rank if one dies.)"""
    token = os.environ.get("TORCHELASTIC_RUN_ID", "")
    markers = [Shard(i, shard.count).marker(run_dir) for i in range(shard.count)]
    while not all(m.exists() and m.read_text() == token for m in markers):
        time.sleep(poll)


def discard_scores(run_dir: Path, shard: Shard) -> None:
    """--fresh: the scores this shard (or run) stored, and what local processes left, are deleted."""
    for name in ("results", "curves", "failures"):
        (Path(run_dir) / f"{name}{shard.suffix}.csv").unlink(missing_ok=True)
    for path in Path(run_dir).glob("*.part-*-of-*.csv"):
        path.unlink()
