"""Throughput of explain+score with 1 and 2 processes (torchrun, gloo on CPU), measured side by side in one run.

The models are trained (or loaded) once first; then the same suite is explained and scored from an empty
explanation cache by ``torchrun --nproc_per_node 1`` and ``--nproc_per_node 2``, in alternating rounds.
Prints each round's explain+score seconds, the images per second, and the ratio 2 processes / 1 process.
Usage: python benchmarks/bench_shards.py [--samples 100] [--rounds 2] [extra iabench run args...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def run(nproc: int, base: Path, args: argparse.Namespace, extra: list[str], port: int) -> float:
    out, explanations = base / f"out-{nproc}", base / "cache" / "explanations"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(explanations, ignore_errors=True)  # explain again: the cost being measured
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    threads = max(1, (os.cpu_count() or 2) // nproc)  # the same cores in both: N processes share them
    subprocess.run([torchrun, "--nproc_per_node", str(nproc), "--master_port", str(port), "-m", "iabench", "run",
                    "--suite", args.suite, "--samples", str(args.samples), "--out", str(out),
                    "--cache-dir", str(base / "cache"), "--quiet", "--no-report", "--jobs", "1", "--device", "cpu",
                    *extra], check=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    manifest = next(out.glob("*/*/manifest.json"))
    timings = json.loads(manifest.read_text())["timings"]
    return timings["explain+score"] + timings.get("merge", 0.0)  # rank 0's shard, then waiting for the others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="faithfulness")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args, extra = parser.parse_known_args()
    base = Path(tempfile.mkdtemp(prefix="iabench-shards-"))
    print("training (or loading) the models once ...", flush=True)
    subprocess.run([sys.executable, "-m", "iabench", "run", "--suite", args.suite, "--samples", "1", "--out",
                    str(base / "warm"), "--cache-dir", str(base / "cache"), "--quiet", "--no-report", *extra],
                   check=True)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.rounds):
        for nproc in (1, 2) if round_ % 2 == 0 else (2, 1):  # alternate: drift on a shared machine cancels
            seconds[nproc].append(run(nproc, base, args, extra, 29600 + 10 * round_ + nproc))
            print(f"round {round_ + 1}, {nproc} process(es): explain+score {seconds[nproc][-1]:.1f} s", flush=True)
    best = {n: min(values) for n, values in seconds.items()}
    for nproc, value in best.items():
        print(f"{nproc} process(es): {value:7.1f} s  {args.samples / value:6.2f} images/s")
    print(f"throughput ratio 2 processes / 1 process: {best[1] / best[2]:.2f}")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
