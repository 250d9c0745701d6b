"""Mutation testing (`make mutants`): how many small plausible bugs does the test suite catch?

cosmic-ray (https://cosmic-ray.readthedocs.io) plants one mutation at a time (``+`` -> ``-``, ``<`` -> ``<=``,
a number +1, ``not`` added, a loop that never runs...) and runs the tests that cover the module; a mutant
is killed when they fail. This driver adds only what cosmic-ray leaves to its user: it mutates a private
copy of the checkout (so the working tree, and anyone running tests in it, never sees a mutant), maps the
copy's ``baselines/`` and ``metrics/`` into the ``iabench`` package as setup.cfg does, runs one session per
module with only that module's tests, and writes the kill rate per module and every survivor's diff.

Usage: python scripts/mutants.py [--only NAME ...] [--out reports/mutation] [--list]
Outputs: OUT/summary.csv (module, mutants, killed, survived, incompetent, kill rate), OUT/survivors.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATS_TESTS = "tests/test_known_stats.py tests/test_reporting.py -k 'known or edge_cases or pairs_by_seed'"
METRIC_TESTS = "tests/test_metrics.py tests/test_diagnostics.py"
EXPLAINER_TESTS = "tests/test_explainers.py"
# module -> the tests that exercise it (the whole suite per mutant would take days on 2 cores; these are
# the tests that pin the module's numbers, chosen so one mutant costs ~10-30 s here)
TARGETS: dict[str, str] = {
    "iabench/training/losses.py": "tests/test_losses.py",
    "iabench/reporting/stats.py": STATS_TESTS,
    "iabench/store.py": "tests/test_store.py",
    **{f"metrics/{p.name}": METRIC_TESTS for p in sorted((ROOT / "metrics").glob("*.py"))},
    **{f"baselines/{p.name}": EXPLAINER_TESTS for p in sorted((ROOT / "baselines").glob("*.py"))},
}
# Replacing an arithmetic operator by a bitwise one, % or // mostly raises on floats and tensors (a cheap,
# uninformative kill); `X | None` is an annotation, never evaluated here. Both are left out.
EXCLUDED_OPERATORS = [
    "core/ReplaceBinaryOperator_.*_(BitOr|BitAnd|BitXor|LShift|RShift|Mod|FloorDiv|Pow)$",
    "core/ReplaceBinaryOperator_(BitOr|BitAnd|BitXor|LShift|RShift)_.*",
]


def private_copy(work: Path) -> Path:
    """A copy of the committed and working-tree files (not .venv, caches or reports), laid out so that
    ``import iabench.metrics`` finds the copy's ``metrics/`` before the editable install's."""
    copy = work / "src"
    if copy.exists():
        shutil.rmtree(copy)
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    for package in ("baselines", "metrics"):
        (copy / "iabench" / package).symlink_to(Path("..") / package)
    return copy


def session(module: str, tests: str, copy: Path, work: Path) -> Path:
    """Initialise, filter and run one cosmic-ray session; returns its database. The tests must pass on the
    unmutated copy first: a test command that fails anyway (a missing file, a broken test) would count
    every mutant as killed."""
    stem = module.replace("/", "_").removesuffix(".py")
    config, db = work / f"{stem}.toml", work / f"{stem}.sqlite"
    python = Path(sys.executable)
    command = (f"env OMP_NUM_THREADS=1 PYTHONPATH={copy} {python} -m pytest -x -q -p no:cacheprovider "
               f"-p no:randomly {tests}")
    if subprocess.run(command, shell=True, cwd=copy, capture_output=True).returncode != 0:
        sys.exit(f"{module}: its tests fail before any mutation; run them: {command}")
    excluded = ", ".join(f'"{pattern}"' for pattern in EXCLUDED_OPERATORS)
    escaped = command.replace("\\", "\\\\").replace('"', '\\"')
    config.write_text(f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = 300.0\nexcluded-modules = []\n'
                      f'test-command = "{escaped}"\n\n[cosmic-ray.distributor]\nname = "local"\n\n'
                      f"[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n")
    db.unlink(missing_ok=True)
    bin_dir = python.parent
    for step in (["cosmic-ray", "init", config, db], ["cr-filter-operators", db, config],
                 ["cosmic-ray", "exec", config, db]):
        subprocess.run([str(bin_dir / step[0]), *map(str, step[1:])], cwd=copy, check=True)
    return db


def outcomes(db: Path) -> tuple[dict[str, int], list[str]]:
    """Counts of killed / survived / incompetent mutants, and the diffs of the survivors."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT worker_outcome, test_outcome, diff FROM work_results").fetchall()
    counts = {"killed": 0, "survived": 0, "incompetent": 0}
    survivors = []
    for worker, test, diff in rows:
        if worker == "SKIPPED":
            continue
        if worker == "ABNORMAL" or test == "INCOMPETENT":
            counts["incompetent"] += 1
        elif test == "SURVIVED":
            counts["survived"] += 1
            survivors.append(diff)
        else:
            counts["killed"] += 1
    return counts, survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="modules (paths as in --list)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    args = parser.parse_args()
    if args.list:
        print("\n".join(f"{m}: {t}" for m, t in TARGETS.items()))
        return
    unknown = sorted(set(args.only or []) - set(TARGETS))
    if unknown:
        sys.exit(f"unknown module(s): {', '.join(unknown)}; see --list")
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    copy = private_copy(work)
    rows, report = [], ["# Surviving mutants\n"]
    for module in args.only or TARGETS:
        started = time.perf_counter()
        counts, survivors = outcomes(session(module, TARGETS[module], copy, work))
        tried = counts["killed"] + counts["survived"]
        rate = counts["killed"] / tried if tried else float("nan")
        rows.append(dict(module=module, mutants=sum(counts.values()), **counts, kill_rate=round(rate, 3),
                         seconds=round(time.perf_counter() - started)))
        print(f"{module}: {counts['killed']}/{tried} killed ({rate:.0%}), {len(survivors)} survived", flush=True)
        report += [f"\n## {module} ({len(survivors)})\n"] + [f"\n```diff\n{d.strip()}\n```\n" for d in survivors]
    with open(args.out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (args.out / "survivors.md").write_text("".join(report))
    print(f"summary: {args.out / 'summary.csv'}  survivors: {args.out / 'survivors.md'}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
