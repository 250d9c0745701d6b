"""Start-up cost of the command line against `import torch`, each command a fresh interpreter, measured side by side
in one run (median of --repeats; these machines are shared and noisy, so only the ratios mean much):

- `iabench --help`; `iabench list` (its declared listing, iabench/listing.json), and the listing built by importing
  every plugin (what a checkout whose plugins differ from the declaration pays once, then reads from the cache);
- a missing --checkpoint and a missing --data-root, refused before the heavy imports.

    python benchmarks/bench_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "--help": ["-m", "iabench", "--help"],
    "list": ["-m", "iabench", "list"],
    "listing built (every plugin)": ["-c", "from iabench.listing import build_listing; build_listing(False)"],
    "run, missing --checkpoint": ["-m", "iabench", "run", "--model", "vit_tiny_patch16_224", "--checkpoint",
                                  "/nonexistent/weights.pth"],
    "run, missing --data-root": ["-m", "iabench", "run", "--data-root", "/nonexistent/data"],
}


def seconds(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *argv], capture_output=True, env=env, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "IABENCH_CACHE": cache, "OMP_NUM_THREADS": "1"}
        torch = statistics.median(seconds(["-c", "import torch"], env) for _ in range(args.repeats))
        rows = {"import torch": torch}
        rows.update({name: statistics.median(seconds(argv, env) for _ in range(args.repeats))
                     for name, argv in COMMANDS.items()})
    print(f"{'command':<28} {'seconds':>8} {'x import torch':>15}")
    for name, value in rows.items():
        print(f"{name:<28} {value:8.2f} {value / torch:15.2f}")


if __name__ == "__main__":
    main()
