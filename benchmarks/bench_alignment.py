"""IA-ViT's alignment term at two scales (train.encoder_summary: sum, the official code, or mean over the layers):
how many seeds of IA-ViT learn the motif task (the ground-truth suite's recipe) to >= 97 %, and what each setting
gives on Fashion-MNIST at the default recipe (the faithfulness suite's): test accuracy, the interpreter's accuracy
and its agreement with the predictor.

Every (task, setting, seed) is one IA-ViT trained in parallel CPU processes into the checkpoint cache (the default
one unless --cache-dir: the suites load these models afterwards instead of training them again), then read back.

    python benchmarks/bench_alignment.py --seeds 10 --fmnist-seeds 3 --jobs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from iabench.data import load_dataset
from iabench.pipeline.plan import default_cache_dir, hashable_data
from iabench.suites import load_suite
from iabench.training import train_or_load
from iabench.training.parallel import TrainJob, train_in_parallel

SETTINGS = ("sum", "mean")
LEARNED = 0.97  # the motif task's accuracy check


def jobs_of(suite_name: str, seeds: int) -> tuple[object, list[TrainJob]]:
    """The suite and one IA-ViT job per (setting, seed), with its own train config."""
    suite = load_suite(suite_name)
    variant = next(v for v in suite.models if v.kind == "ia-vit")
    jobs = [TrainJob(f"{suite_name}/{setting}/seed{seed}", "ia-vit", variant.model,
                     dataclasses.replace(variant.train, seed=seed, encoder_summary=setting))
            for setting in SETTINGS for seed in range(seeds)]
    return suite, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="IA-ViT seeds per setting on the motif task")
    parser.add_argument("--fmnist-seeds", type=int, default=3, help="seeds per setting on Fashion-MNIST")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    parser.add_argument("--cache-dir", type=Path, default=None, help="checkpoint cache (default: iabench's)")
    args = parser.parse_args()
    cache = args.cache_dir or default_cache_dir()
    torch.set_num_threads(1)
    for name, seeds in (("ground-truth", args.seeds), ("faithfulness", args.fmnist_seeds)):
        suite, jobs = jobs_of(name, seeds)
        started = time.perf_counter()
        trained_now = train_in_parallel(jobs, suite.data, hashable_data(suite.data), cache, args.jobs, progress=False)
        data = load_dataset(suite.data)
        print(f"{name}: {len(jobs)} IA-ViTs ({len(trained_now)} trained now, {time.perf_counter() - started:.0f} s "
              f"wall with {args.jobs} processes)")
        print(f"  {'setting':<8} {'seed':>4} {'test acc':>9} {'interp acc':>10} {'agreement':>9} {'train s':>8}")
        learned = {setting: 0 for setting in SETTINGS}
        for job in jobs:
            model = train_or_load("ia-vit", job.model, hashable_data(suite.data), job.train, data,
                                  torch.device("cpu"), cache, progress=False)
            m, setting = model.metrics, job.train.encoder_summary
            learned[setting] += m["test_acc"] >= LEARNED
            print(f"  {setting:<8} {job.train.seed:>4} {m['test_acc']:>9.4f} {m['test_inter_acc']:>10.4f} "
                  f"{m['test_agreement']:>9.4f} {m.get('train_seconds', float('nan')):>8.0f}")
        if name == "ground-truth":
            print("  learned the motif (test accuracy >= 0.97): " +
                  ", ".join(f"{s} {learned[s]} of {seeds}" for s in SETTINGS))


if __name__ == "__main__":
    main()
