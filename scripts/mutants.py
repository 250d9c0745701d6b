"""Mutation testing (`make mutants`): how many small plausible bugs does the test suite catch?

cosmic-ray (https://cosmic-ray.readthedocs.io) plants one mutation at a time (``+`` -> ``-``, ``<`` -> ``<=``,
a number +1, ``not`` added, a loop that never runs...) and runs the tests that cover the module; a mutant
is killed when they fail. This driver adds only what cosmic-ray leaves to its user: it mutates a private
copy of the checkout (so the working tree, and anyone running tests in it, never sees a mutant), maps the
copy's ``baselines/`` and ``metrics/`` into the ``iabench`` package as setup.cfg does, runs one session per
module with only that module's tests, and writes the kill rate per module and every survivor's diff.

Usage: python scripts/mutants.py [--only NAME ...] [--sample N] [--out reports/mutation] [--list] [--recheck]
(--recheck tests an earlier run's survivors again, e.g. after writing tests that should kill them.)
Outputs: OUT/summary.csv (module, mutants tested, killed, survived, incompetent, not sampled, kill rate and
its 95 % Wilson interval, seconds), OUT/survivors.md; both keep the modules of earlier runs into OUT.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult
from mutation_worker import execute, pytest_args, recheck, run_forked, warm_up
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parent.parent
STATS_TESTS = ("tests/stats/test_known_stats.py tests/reporting/test_reporting.py "
               "-k 'known or edge_cases or pairs_by_seed'")
# known-answer tests first: with -x a mutant they catch costs seconds
METRIC_TESTS = ("tests/metrics/test_known_metrics.py tests/metrics/test_model_metrics.py "
                "tests/metrics/test_diagnostics.py tests/metrics/test_metrics.py tests/metrics/test_quantus_adapter.py "
                "tests/metrics/test_patch_maps.py")
# test_vit_b16_shape checks shapes at ViT-B/16 size (34 of the 40 s) and pins no number: left out
EXPLAINER_TESTS = ("tests/baselines/test_explainer_base.py tests/baselines/test_explainer_parts.py "
                   "tests/baselines/test_known_explainers.py tests/baselines/test_explainers.py "
                   "tests/baselines/test_rollout.py tests/baselines/test_integrated_gradients.py "
                   "-k 'not vit_b16_shape'")
# the scorer is exercised by runs: the micro suite's run, its targets and the local processes' runs
SCORE_TESTS = ("tests/pipeline/test_score.py tests/end_to_end/test_runner.py tests/pipeline/test_runner_targets.py "
               "tests/pipeline/test_parts.py")
# the verdict: its decision rules pinned (test_verdict_rules.py), its claims and text (test_verdict.py), the paired
# statistic and the variance components with their known answers
VERDICT_TESTS = ("tests/reporting/test_verdict_rules.py tests/reporting/test_verdict_text.py "
                 "tests/reporting/test_verdict_words.py tests/stats/test_paired.py tests/stats/test_variance.py "
                 "tests/reporting/test_verdict.py tests/reporting/test_opening.py")
# module -> the tests that exercise it (the whole suite per mutant would take days on 2 cores; these are
# the tests that pin the module's numbers)
TARGETS: dict[str, str] = {
    "iabench/training/losses.py": "tests/models/test_losses.py",
    **{f"iabench/stats/{name}.py": STATS_TESTS for name in ("holm", "intervals")},
    "iabench/reporting/summary.py": STATS_TESTS,
    **{f"iabench/stats/{name}.py": VERDICT_TESTS for name in ("paired", "variance")},
    **{f"iabench/reporting/verdict/{name}.py": VERDICT_TESTS for name in ("rules", "rows", "claims", "text", "words")},
    "iabench/store.py": "tests/pipeline/test_store.py",
    "iabench/targets.py": "tests/pipeline/test_targets.py tests/pipeline/test_runner_targets.py",
    "iabench/substrates.py": f"tests/metrics/test_substrates.py {METRIC_TESTS}",
    "iabench/pipeline/score.py": SCORE_TESTS,
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


def stem_of(module: str) -> str:
    """The file stem of a module's session and result files: ``metrics/entropy.py`` -> ``metrics_entropy``."""
    return module.replace("/", "_").removesuffix(".py")


def unmutated_cpu(module: str, tests: str) -> float:
    """CPU seconds of the module's tests without a mutant; exits when they fail (every mutant would count as
    killed)."""
    outcome, output, cpu = run_forked(pytest_args(tests), cpu_limit=3600)
    if outcome != TestOutcome.SURVIVED:
        sys.exit(f"{module}: its tests fail before any mutation ({tests}):\n{output}")
    return cpu


def session(module: str, tests: str, copy: Path, work: Path, sample: int) -> Path:
    """Initialise, filter and run one cosmic-ray session; returns its database. With ``sample`` > 0 only that
    many mutants, drawn at random (seeded by the module's name), are tested; the rest are marked skipped."""
    config, db = work / f"{stem_of(module)}.toml", work / f"{stem_of(module)}.sqlite"
    cpu = unmutated_cpu(module, tests)
    excluded = ", ".join(f'"{pattern}"' for pattern in EXCLUDED_OPERATORS)
    config.write_text(f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = 300.0\nexcluded-modules = []\n'
                      f'test-command = "pytest {tests}"\n\n[cosmic-ray.distributor]\nname = "local"\n\n'
                      f"[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n")
    db.unlink(missing_ok=True)
    bin_dir = Path(sys.executable).parent
    for step in (["cosmic-ray", "init", config, db], ["cr-filter-operators", db, config]):
        subprocess.run([str(bin_dir / step[0]), *map(str, step[1:])], cwd=copy, check=True)
    if sample:
        with use_db(str(db), WorkDB.Mode.open) as work_db:
            # job ids are fresh UUIDs per session: draw from the mutations themselves, so that a re-run after
            # new tests tries the same mutants
            items = {(m.operator_name, m.occurrence): item.job_id for item in work_db.pending_work_items
                     for m in item.mutations}
            chosen = random.Random(module).sample(sorted(items), min(sample, len(items)))
            for job_id in set(items.values()) - {items[key] for key in chosen}:
                work_db.set_result(job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not sampled"))
    execute(db, tests, cpu_limit=max(60.0, 5 * cpu))
    return db


def outcomes(db: Path) -> tuple[dict[str, int], list[str]]:
    """Counts of killed / survived / incompetent / not-sampled mutants, and the diffs of the survivors."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT worker_outcome, test_outcome, output, diff FROM work_results").fetchall()
    counts = {"killed": 0, "survived": 0, "incompetent": 0, "not_sampled": 0}
    survivors = []
    for worker, test, output, diff in rows:
        if worker == "SKIPPED":  # left out by the operator filter, or by --sample
            counts["not_sampled"] += output == "not sampled"
        elif worker in ("ABNORMAL", "EXCEPTION") or test == "INCOMPETENT":
            counts["incompetent"] += 1
        elif test == "SURVIVED":
            counts["survived"] += 1
            survivors.append(diff)
        else:
            counts["killed"] += 1
    return counts, survivors


FIELDS = ["module", "tested", "killed", "survived", "incompetent", "not_sampled", "kill_rate", "ci_low", "ci_high",
          "seconds", "killed_on_recheck"]


def rates(killed: int, tried: int) -> dict[str, float]:
    """Kill rate and its 95 % Wilson interval."""
    rate = killed / tried if tried else float("nan")
    low, high = binomtest(killed, tried).proportion_ci(method="wilson") if tried else (rate, rate)
    return dict(kill_rate=round(rate, 3), ci_low=round(low, 3), ci_high=round(high, 3))


def recheck_module(out: Path, module: str) -> None:
    """Test an earlier run's survivors of ``module`` again with the current tests; the ones now killed move
    to ``killed`` (and are counted in ``killed_on_recheck``), the rest stay listed."""
    path = out / "modules" / f"{stem_of(module)}.json"
    if not path.exists():
        print(f"{module}: no earlier run in {path.parent}, nothing to recheck", flush=True)
        return
    result = json.loads(path.read_text())
    cpu = unmutated_cpu(module, TARGETS[module])
    now_killed = recheck(result["survivors"], TARGETS[module], cpu_limit=max(60.0, 5 * cpu))
    result["survivors"] = [d for d, killed in zip(result["survivors"], now_killed) if not killed]
    result["killed"] += sum(now_killed)
    result["survived"] = len(result["survivors"])
    result["killed_on_recheck"] = result.get("killed_on_recheck", 0) + sum(now_killed)
    result.update(rates(result["killed"], result["tested"]))
    path.write_text(json.dumps(result, indent=1))
    print(f"{module}: {sum(now_killed)} of {len(now_killed)} survivors now killed; {result['killed']}/"
          f"{result['tested']} ({result['kill_rate']:.0%})", flush=True)


def write_reports(out: Path) -> None:
    """summary.csv and survivors.md from every module's result file (runs of other modules are kept)."""
    results = [json.loads(path.read_text()) for path in sorted((out / "modules").glob("*.json"))]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, restval=0, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(results)
    report = ["# Surviving mutants\n"]
    for r in results:
        report += [f"\n## {r['module']} ({len(r['survivors'])})\n"]
        report += [f"\n```diff\n{d.strip()}\n```\n" for d in r["survivors"]]
    (out / "survivors.md").write_text("".join(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="modules (paths as in --list)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    parser.add_argument("--sample", type=int, default=0,
                        help="test this many randomly drawn mutants per module (default 0: all of them)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--recheck", action="store_true",
                        help="test the survivors of the earlier run of each module again (after new tests)")
    args = parser.parse_args()
    if args.list:
        print("\n".join(f"{m}: {t}" for m, t in TARGETS.items()))
        return
    unknown = sorted(set(args.only or []) - set(TARGETS))
    if unknown:
        sys.exit(f"unknown module(s): {', '.join(unknown)}; see --list")
    args.out = args.out.resolve()  # the worker works inside the private copy
    work = args.out / "work" / str(os.getpid())  # runs of other modules may go on beside this one
    (args.out / "modules").mkdir(parents=True, exist_ok=True)
    copy = private_copy(work)
    warm_up(copy)
    for module in args.only or TARGETS:
        if args.recheck:
            recheck_module(args.out, module)
            write_reports(args.out)
            continue
        started = time.perf_counter()
        counts, survivors = outcomes(session(module, TARGETS[module], copy, work, args.sample))
        tried = counts["killed"] + counts["survived"]
        result = dict(module=module, tested=tried, **counts, **rates(counts["killed"], tried),
                      seconds=round(time.perf_counter() - started), survivors=survivors)
        (args.out / "modules" / f"{stem_of(module)}.json").write_text(json.dumps(result, indent=1))
        print(f"{module}: {counts['killed']}/{tried} killed ({result['kill_rate']:.0%}, 95 % CI "
              f"{result['ci_low']:.0%}-{result['ci_high']:.0%}), "
              f"{len(survivors)} survived", flush=True)
        write_reports(args.out)
    shutil.rmtree(work, ignore_errors=True)
    print(f"summary: {args.out / 'summary.csv'}  survivors: {args.out / 'survivors.md'}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
