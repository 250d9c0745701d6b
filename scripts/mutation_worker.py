"""Run a cosmic-ray session's pending mutants in forks of one warmed-up process.

cosmic-ray's own ``exec`` starts a fresh interpreter per mutant; here that costs ~10 s of importing torch,
timm (which pulls torchvision and torch._dynamo), captum and quantus before any test runs, more than most
tests take. This worker imports those once, then for each mutant: cosmic-ray writes the mutated file
(its ``use_mutation`` restores it afterwards), a fork drops every ``iabench`` and test module, runs pytest
in-process and exits with pytest's code, and the result goes back into cosmic-ray's database, so its
reports read it as usual. Outcome rules are cosmic-ray's: exit code 0 survived, anything else (a failing
test, an import error, a timeout) killed; the timeout counts CPU seconds (5x the unmutated run's, at least
60), so a machine busy with other work cannot make a slow survivor look killed.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path

import cosmic_ray.plugins
from cosmic_ray.mutating import use_mutation
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

HEAVY_IMPORTS = ("torch", "timm", "torchvision", "captum.attr", "quantus", "pandas", "scipy.stats", "pytest",
                 "matplotlib.pyplot", "seaborn", "statsmodels.stats.multitest", "krippendorff", "scikit_posthocs")


def warm_up(copy: Path) -> None:
    """Import the heavy dependencies (never iabench itself) and point imports at the private copy."""
    import importlib

    sys.dont_write_bytecode = True  # a same-size mutant written in the same second must never reuse a .pyc
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for name in HEAVY_IMPORTS:
        importlib.import_module(name)
    if any(name == "iabench" or name.startswith("iabench.") for name in sys.modules):
        raise RuntimeError("iabench was imported before forking: mutants would not be re-imported")
    sys.path.insert(0, str(copy))
    os.chdir(copy)


def pytest_args(tests: str) -> list[str]:
    """pytest's arguments for a module's test selection: stop at the first failure, no cache, fixed order."""
    return ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *shlex.split(tests)]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc; 0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_forked(pytest_args: list[str], cpu_limit: float) -> tuple[TestOutcome, str, float]:
    """pytest in a fork with fresh iabench and test modules; (outcome, the last lines of its output, CPU
    seconds used). The time limit counts CPU seconds, not wall time: on a shared machine a starved test run
    must not count as a mutant caught by a timeout."""
    with tempfile.TemporaryFile("w+") as log, tempfile.TemporaryDirectory(prefix="mutant-pyc-") as bytecode:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            for name in [n for n in sys.modules if n.split(".")[0] in ("iabench", "tests", "conftest")]:
                del sys.modules[name]
            # compile from source: a mutant of the same size written within the second of the original (== to <=)
            # would otherwise be read from the original's cached bytecode, whose mtime and size still match
            sys.pycache_prefix = bytecode
            import pytest

            os._exit(int(pytest.main(pytest_args)))
        while True:
            done, code, usage = os.wait4(pid, os.WNOHANG)
            if done:
                status, used = os.waitstatus_to_exitcode(code), usage.ru_utime + usage.ru_stime
                break
            used = _cpu_seconds(pid)
            if used > cpu_limit:  # an endless loop planted by the mutant
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return TestOutcome.KILLED, f"timeout after {used:.0f} CPU seconds", used
            time.sleep(0.05)
        log.seek(0)
        output = log.read()[-4000:]
    return (TestOutcome.SURVIVED if status == 0 else TestOutcome.KILLED), output, used


def execute(db: Path, tests: str, cpu_limit: float) -> None:
    """Test every pending mutant of the session database ``db`` (one module's)."""
    args = pytest_args(tests)
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        pending = list(work_db.pending_work_items)
        for number, item in enumerate(pending, 1):
            (mutation,) = item.mutations
            operator = cosmic_ray.plugins.get_operator(mutation.operator_name)()
            with use_mutation(mutation.module_path, operator, mutation.occurrence) as (original, mutated):
                if mutated is None:
                    work_db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NO_TEST))
                    continue
                outcome, output, _ = run_forked(args, cpu_limit)
                diff = "\n".join(_diff(original, mutated, mutation.module_path))
            work_db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=outcome,
                                                       output=output, diff=diff))
            print(f"  {number}/{len(pending)} {outcome.value}: {mutation.operator_name} #{mutation.occurrence}",
                  flush=True)


def recheck(survivors: list[str], tests: str, cpu_limit: float) -> list[bool]:
    """Apply each surviving mutant's diff to the private copy (the working directory) again, run the tests
    and restore the file; True where the tests now kill it. A diff that no longer applies (its module
    changed since) counts as surviving, so a recheck can only lower the survivor count by real kills."""
    import subprocess

    args, killed = pytest_args(tests), []
    for diff in survivors:
        path = Path(diff.splitlines()[0].removeprefix("--- a/"))
        original = path.read_text()
        applied = subprocess.run(["git", "apply", "-p1", "-"], input=diff + "\n", text=True,
                                 capture_output=True).returncode == 0
        try:
            killed.append(applied and run_forked(args, cpu_limit)[0] == TestOutcome.KILLED)
        finally:
            path.write_text(original)
        changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
        change = next((line for line in changed if line.startswith("+")), changed[0])
        print(f"  {'killed' if killed[-1] else 'survived' if applied else 'does not apply'}: {path} {change}",
              flush=True)
    return killed


def _diff(original: str, mutated: str, path: Path) -> list[str]:
    import difflib

    return list(difflib.unified_diff(original.splitlines(), mutated.splitlines(), f"a/{path}", f"b/{path}",
                                     lineterm=""))
