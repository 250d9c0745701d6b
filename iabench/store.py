"""Append-only per-sample result files that survive Ctrl-C and SIGKILL.

Rows are appended as they are computed, one write and fsync per batch of rows. Curves are written
before the result rows that commit them, so after a kill at any moment a results row always has its
curve. On reopening, a torn last line is cut off, curve rows without a committed result are dropped,
and the set of finished keys tells the runner what is left to do. ``finalize`` rewrites both files
sorted and de-duplicated, so an interrupted-and-resumed run ends byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULT_COLUMNS = ["run", "seed", "model", "explainer", "metric", "sample", "value"]
MODEL_LEVEL = "-"  # the explainer of a model-level score (accuracy, agreement): it explains nothing
CURVE_COLUMNS = ["run", "seed", "model", "explainer", "metric", "sample", "x", "value"]
Key = tuple[int, str, str, str, int]  # (seed, model, explainer, metric, sample)


def format_value(value: float) -> str:
    """Floats as the shortest repr that round-trips (deterministic, lossless); NaN as 'nan'."""
    value = float(value)
    return "nan" if math.isnan(value) else repr(value)


def repair(path: Path, header: Sequence[str]) -> None:
    """Create the file with its header, or cut off a torn last line left by a kill mid-write."""
    if not path.exists() or path.stat().st_size == 0:
        path.write_text(",".join(header) + "\n")
        return
    with open(path, "rb+") as f:
        data = f.read()
        if not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def _read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[1:]


def _key(row: Sequence[str]) -> Key:
    return (int(row[1]), row[2], row[3], row[4], int(row[5]))


class ResultStore:
    """results.csv and curves.csv of one run directory (``suffix``: one shard's files, e.g. ``.shard-0-of-2``)."""

    def __init__(self, run_dir: Path, run_id: str, suffix: str = "", seen: Path | None = None) -> None:
        """``seen``: another results file whose rows count as done too (a local part reads the run's own)."""
        self.run_dir = Path(run_dir)
        self.run_id = run_id
        self.results_path = self.run_dir / f"results{suffix}.csv"
        self.curves_path = self.run_dir / f"curves{suffix}.csv"
        repair(self.results_path, RESULT_COLUMNS)
        repair(self.curves_path, CURVE_COLUMNS)
        self.done: set[Key] = {_key(row) for path in (self.results_path, seen) if path is not None and path.exists()
                               for row in _read_rows(path) if len(row) == len(RESULT_COLUMNS)}

    def missing(self, keys: Iterable[Key]) -> list[Key]:
        return [k for k in keys if k not in self.done]

    def _append(self, path: Path, rows: list[list[str]]) -> None:
        if not rows:
            return
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        with open(path, "a") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())

    def add(self, seed: int, model: str, explainer: str, metric: str, samples: Sequence[int],
            values: Sequence[float], curve_x: Sequence[float] | None = None,
            curves: Sequence[Sequence[float]] | None = None) -> None:
        """Append one metric's per-sample values (and curves), skipping samples already stored."""
        new = [i for i, s in enumerate(samples) if (seed, model, explainer, metric, int(s)) not in self.done]
        if not new:
            return
        if curves is not None and curve_x is not None:
            self._append(self.curves_path, [
                [self.run_id, str(seed), model, explainer, metric, str(int(samples[i])), format_value(x),
                 format_value(y)] for i in new for x, y in zip(curve_x, curves[i])])
        self._append(self.results_path, [
            [self.run_id, str(seed), model, explainer, metric, str(int(samples[i])), format_value(values[i])]
            for i in new])
        self.done.update((seed, model, explainer, metric, int(samples[i])) for i in new)

    def absorb(self, other: ResultStore) -> None:
        """Append another store's rows to this one's files, curves first (as ``add`` does); ``finalize`` then
        sorts and de-duplicates them."""
        self._append(self.curves_path, _read_rows(other.curves_path))
        rows = _read_rows(other.results_path)
        self._append(self.results_path, rows)
        self.done.update(_key(row) for row in rows if len(row) == len(RESULT_COLUMNS))

    def finalize(self) -> None:
        """Rewrite both files sorted by key, de-duplicated, curves only for committed results."""
        results = {}
        for row in _read_rows(self.results_path):
            if len(row) == len(RESULT_COLUMNS):
                results.setdefault(_key(row), row)
        curves: dict[Key, dict[str, list[str]]] = {}
        for row in _read_rows(self.curves_path):
            if len(row) == len(CURVE_COLUMNS) and _key(row) in results:
                curves.setdefault(_key(row), {}).setdefault(row[6], row)
        _atomic_csv(self.results_path, RESULT_COLUMNS, [results[k] for k in sorted(results)])
        _atomic_csv(self.curves_path, CURVE_COLUMNS,
                    [row for k in sorted(curves) for _, row in sorted(curves[k].items(), key=lambda i: float(i[0]))])


def _atomic_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
