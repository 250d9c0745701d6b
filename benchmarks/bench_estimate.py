"""The plan line against the clock: for each suite, the seconds its plan line estimated per stage (manifest.json's
``estimate``) beside the seconds each stage took (its ``timings``), and their ratio; an including suite (`evidence`)
sums its runs. Target: every ratio within 0.75-1.25 for `faithfulness`, `evidence` and the study's explain+score.

    python benchmarks/bench_estimate.py --suite faithfulness --suite evidence [--cache-dir DIR] [-- run args]
    python benchmarks/bench_estimate.py --runs reports/evidence-motif/<id> reports/evidence-garment/<id>
    python benchmarks/bench_estimate.py --plan-of ia-vit-study --against reports/ia-vit-study/<id>

--plan-of makes the plan line of a suite run from nothing (a fresh output folder and checkpoint cache, this
machine's cost book) without running it, and sets it beside the measured stages of the finished run --against
(for a run written before runs recorded their estimate, or one too long to repeat).

--suite runs the suite (into --out, default a fresh folder) with the cache given (default iabench's: a cached model
is loaded, not trained, and the estimate knows it); --runs reads finished runs. A run written before runs recorded
their estimate has none: it is named and left out. --write-reference then merges the cost book of the cache used
(costs.json) into iabench/pipeline/reference_costs.json, what a machine that has measured nothing is estimated from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "iabench" / "pipeline" / "reference_costs.json"
STAGES = (("train", "train"), ("explain+score", "explain+score"), ("rest", ("data", "artifacts", "report")))


def stage_seconds(manifest: dict) -> dict[str, tuple[float, float]]:
    """(estimated, measured) seconds per stage of one run."""
    estimate, timings = manifest["estimate"], manifest["timings"]
    out = {}
    for name, measured in STAGES:
        keys = (measured,) if isinstance(measured, str) else measured
        out[name] = (float(estimate.get(name, 0.0)), sum(float(timings.get(k, 0.0)) for k in keys))
    return out


def summed(manifests: list[dict]) -> dict[str, tuple[float, float]]:
    total: dict[str, tuple[float, float]] = {}
    for manifest in manifests:
        for name, (e, m) in stage_seconds(manifest).items():
            a, b = total.get(name, (0.0, 0.0))
            total[name] = (a + e, b + m)
    total["total"] = (sum(e for e, _ in total.values()), sum(m for _, m in total.values()))
    return total


def show(title: str, manifests: list[dict]) -> None:
    print(f"{title}: {len(manifests)} run{'s' if len(manifests) != 1 else ''}")
    print(f"  {'stage':<14} {'estimated s':>11} {'measured s':>10} {'estimate/measured':>17}")
    for name, (e, m) in summed(manifests).items():
        ratio = f"{e / m:.2f}" if m > 0.5 else "-"
        print(f"  {name:<14} {e:>11.1f} {m:>10.1f} {ratio:>17}")
    missing = sorted({w for m in manifests for w in m["estimate"].get("not_counted", [])})
    if missing:
        print(f"  not counted (never timed): {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")


def read(paths: list[Path]) -> list[dict]:
    manifests = []
    for path in paths:
        manifest = json.loads((path / "manifest.json").read_text())
        if "estimate" not in manifest:
            print(f"  {path}: written before runs recorded their estimate; left out")
            continue
        manifests.append(manifest)
    return manifests


class _Planned(Exception):
    """Raised where the run would start training: the plan line has been made."""


def plan_of(suite_name: str, jobs: int) -> dict:
    """The estimate (``Estimate.record``) of ``suite_name`` run from nothing with this machine's cost book."""
    from iabench.pipeline.costs import CostBook
    from iabench.pipeline.plan import default_cache_dir
    from iabench.runner import Run, RunOptions
    from iabench.suites import load_suite

    folder = Path(tempfile.mkdtemp(prefix="bench-plan-"))
    book = CostBook.open(default_cache_dir()).measured
    (folder / "cache").mkdir()
    (folder / "cache" / "costs.json").write_text(json.dumps(book))
    run = Run(load_suite(suite_name), RunOptions(out_dir=folder / "out", cache_dir=folder / "cache", device="cpu",
                                                  jobs=jobs, progress=False))

    def stop() -> None:
        raise _Planned
    run._models = stop  # type: ignore[method-assign]  # the stage after the plan line
    try:
        run.execute()
    except _Planned:
        pass
    return run.estimate.record()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", default=[], help="run this suite and compare (repeatable)")
    parser.add_argument("--runs", nargs="+", type=Path, default=[], help="finished run folders, summed")
    parser.add_argument("--out", type=Path, default=None, help="where --suite runs go (default: a fresh folder)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="checkpoint and cost cache (default iabench's)")
    parser.add_argument("--plan-of", default=None, help="a suite whose plan from nothing is made, not run")
    parser.add_argument("--against", type=Path, default=None, help="the finished run --plan-of is set beside")
    parser.add_argument("--jobs", type=int, default=2, help="--plan-of: the run's --jobs")
    parser.add_argument("--write-reference", action="store_true", help="merge the cache's costs into the reference")
    parser.add_argument("extra", nargs="*", help="more `iabench run` arguments, after --")
    args = parser.parse_args()
    if args.plan_of:
        measured = json.loads((args.against / "manifest.json").read_text())
        show(f"{args.plan_of} planned from nothing, against {args.against}",
             [dict(measured, estimate=plan_of(args.plan_of, args.jobs))])
    if args.runs:
        show(" + ".join(str(p) for p in args.runs), read(args.runs))
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-estimate-"))
    for suite in args.suite:
        started = time.time()
        command = [sys.executable, "-m", "iabench", "run", "--suite", suite, "--out", str(out), *args.extra]
        command += ["--cache-dir", str(args.cache_dir)] if args.cache_dir else []
        wall = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - wall
        runs = sorted((p.parent for p in out.glob("*/*/manifest.json") if p.stat().st_mtime >= started),
                      key=lambda p: p.stat().st_mtime)
        show(f"{suite} ({wall:.0f} s wall, {', '.join(str(p) for p in runs)})", read(runs))
    if args.write_reference:
        from iabench.pipeline.plan import default_cache_dir

        measured = json.loads(((args.cache_dir or default_cache_dir()) / "costs.json").read_text())
        merged = {**json.loads(REFERENCE.read_text()), **measured}
        REFERENCE.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
        print(f"{REFERENCE}: {len(merged)} costs ({len(measured)} from this machine)")


if __name__ == "__main__":
    main()
