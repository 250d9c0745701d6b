"""End-to-end timing of the main job, before and after it was cut to its explainers, side by side in one run.

Runs, each with a fresh cache and output folder:
- "before": the main job as it was: every explainer (`faithfulness-full`) at the 6-epoch recipe, from nothing;
- "after": `python -m iabench run --suite faithfulness` from nothing, then again with everything cached.
Prints each run's wall-clock seconds, the share of each stage (train, explain+score, report, the rest; from the run's
manifest.json), the ratios to the targets (<= 10 min from nothing, <= 1 min cached), the models' test accuracy and
agreement against the default recipe's bounds (>= 84 %, >= 95 %), and where the runs are.
`--write-reference` writes the costs both runs measured to iabench/pipeline/reference_costs.json: what a machine
that has measured nothing yet is estimated from.
Usage: python benchmarks/bench_run.py [--skip-before] [--keep DIR] [--write-reference] [extra iabench run args...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"after, from nothing": 10 * 60, "after, cached": 60}
# the main job before: every explainer, the 6-epoch recipe, patch-unit curves one patch per step
BEFORE = ["--suite", "faithfulness-full", "--set", "train.epochs=6", "--set", "train.lr=0.002",
          "--set", "train.warmup_steps=200", "--set",
          "metrics=insertion,deletion,insertion[patch],deletion[patch],morf,lerf,accuracy,agreement,conservation"]
STAGES = ("train", "explain+score", "report")
REFERENCE = Path(__file__).resolve().parents[1] / "iabench" / "pipeline" / "reference_costs.json"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def manifest(out: Path) -> dict:
    return json.loads(max(out.glob("*/*/manifest.json"), key=lambda p: p.stat().st_mtime).read_text())


def shares(seconds: float, timings: dict) -> str:
    parts = {stage: timings.get(stage, 0.0) for stage in STAGES}
    parts["the rest"] = max(0.0, seconds - sum(parts.values()))  # start-up, data, artifacts
    return ", ".join(f"{k} {v:6.1f} s ({v / seconds:4.0%})" for k, v in parts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-before", action="store_true", help="time only the new main job (saves ~25 min)")
    parser.add_argument("--keep", type=Path, default=None, help="keep caches and reports in this folder")
    parser.add_argument("--write-reference", action="store_true",
                        help="write the after run's measured costs to iabench/pipeline/reference_costs.json")
    args, extra = parser.parse_known_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="iabench-bench-"))
    base.mkdir(parents=True, exist_ok=True)

    def command(name: str, *more: str) -> list[str]:
        return [sys.executable, "-m", "iabench", "run", "--out", str(base / name / "reports"), "--cache-dir",
                str(base / name / "cache"), "--quiet", *more, *extra]

    runs: dict[str, tuple[float, dict]] = {}
    if not args.skip_before:
        runs["before, from nothing"] = (timed(command("before", *BEFORE)), manifest(base / "before" / "reports"))
    for label in ("after, from nothing", "after, cached"):
        runs[label] = (timed(command("after", "--suite", "faithfulness")), manifest(base / "after" / "reports"))
    for label, (seconds, facts) in runs.items():
        target = TARGETS.get(label)
        ratio = f"   ratio to the {target // 60}-min target {seconds / target:.2f}" if target else ""
        print(f"{label:<21} {seconds:7.1f} s{ratio}\n    {shares(seconds, facts.get('timings', {}))}")
    if "before, from nothing" in runs:
        print(f"speed-up from nothing: {runs['before, from nothing'][0] / runs['after, from nothing'][0]:.2f}x")
    for name, model in sorted(runs["after, from nothing"][1].get("models", {}).items()):
        metrics = model.get("metrics", {})
        line = f"{name}: test accuracy {metrics.get('test_acc', float('nan')):.2%} (bound 84 %)"
        if "test_agreement" in metrics:
            line += f", agreement {metrics['test_agreement']:.2%} (bound 95 %)"
        print(line)
    if args.write_reference:  # the after run's costs, and the before run's for the explainers only it has
        books = [base / name / "cache" / "costs.json" for name in ("before", "after")]
        merged = {k: v for book in books if book.exists() for k, v in json.loads(book.read_text()).items()}
        REFERENCE.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
        print(f"wrote {REFERENCE} ({len(merged)} costs)")
    print(f"runs under {base}")


if __name__ == "__main__":
    main()
