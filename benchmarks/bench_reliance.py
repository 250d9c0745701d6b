"""Which models of a planted-evidence suite rely on their evidence: train (in parallel CPU processes, into the
checkpoint cache the suite then loads) or load every model and seed of the suite, run its dataset's reliance checks
and print each check with how many models pass them all: the search for a recipe whose models have ground truth.

    python benchmarks/bench_reliance.py --suite ground-truth-garment --jobs 2 [--set train.epochs=6 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter

import torch

from iabench.data import dataset_class, dataset_options, load_dataset
from iabench.pipeline.plan import default_cache_dir, hashable_data
from iabench.suites import load_suite
from iabench.training import train_or_load
from iabench.training.parallel import TrainJob, train_in_parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="ground-truth-garment")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    suite, cache = load_suite(args.suite, args.overrides), default_cache_dir()
    truth = dataset_class(suite.data.name).ground_truth
    if truth is None:
        raise SystemExit(f"{suite.data.name} plants no evidence: no reliance checks")
    key = hashable_data(suite.data)
    jobs = [TrainJob(f"{v.name}/seed{seed}", v.kind, v.model, dataclasses.replace(v.train, seed=seed))
            for v in suite.models for seed in v.seeds]
    started = time.perf_counter()
    trained_now = train_in_parallel(jobs, suite.data, key, cache, args.jobs, progress=False)
    data = load_dataset(suite.data)
    print(f"{args.suite} ({truth.labelling(dataset_options(suite.data))}), {' '.join(args.overrides) or 'as shipped'}:"
          f" {len(jobs)} models, {len(trained_now)} trained now in {time.perf_counter() - started:.0f} s")
    passing: Counter[str] = Counter()
    for job in jobs:
        model = train_or_load(job.kind, job.model, key, job.train, data, torch.device("cpu"), cache, progress=False)
        index = model.test_index
        indices = index.tolist() if index is not None else list(range(len(data.test)))
        checks = truth.checks(model.model, data.test, indices, torch.device("cpu"))
        passing[job.kind] += all(c.passed for c in checks)
        print(f"  {job.name:<16} " + "; ".join(f"{c.check} {c.value:.4f} {'ok' if c.passed else 'FAILS'}"
                                                for c in checks))
    print("  with ground truth: " + ", ".join(f"{kind} {passing[kind]} of {sum(j.kind == kind for j in jobs)}"
                                               for kind in dict.fromkeys(j.kind for j in jobs)))


if __name__ == "__main__":
    main()
