"""End-to-end timing of the main job (issue: <= 20 minutes from nothing, <= 3 minutes when cached).

Runs ``python -m iabench run --suite SUITE`` twice in one go, with a fresh cache and output folder:
first from nothing (training both models included), then again with everything cached. Prints both
wall-clock times, their ratios to the targets, and the summary table of the run.
Usage: python benchmarks/bench_run.py [--suite faithfulness] [--keep DIR] [extra iabench run args...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS = {"from nothing": 20 * 60, "cached": 3 * 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="faithfulness")
    parser.add_argument("--keep", type=Path, default=None, help="keep cache and reports in this folder")
    args, extra = parser.parse_known_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="iabench-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "iabench", "run", "--suite", args.suite, "--out", str(base / "reports"),
               "--cache-dir", str(base / "cache"), "--quiet", *extra]
    times = {}
    for label in TARGETS:
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times[label] = time.perf_counter() - started
    for label, seconds in times.items():
        print(f"{label:<13} {seconds:8.1f} s   target {TARGETS[label]:5d} s   ratio {seconds / TARGETS[label]:.2f}")
    run_dir = next((base / "reports" / args.suite).iterdir())
    summary = pd.read_csv(run_dir / "summary.csv")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(summary[["model", "explainer", "metric", "mean", "ci_low", "ci_high", "n"]].to_string(index=False))
    print(f"run folder: {run_dir}")


if __name__ == "__main__":
    main()
