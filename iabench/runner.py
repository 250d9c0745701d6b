"""The main job: config -> data -> models (trained or cached) -> explanations -> scores -> report.

``Run`` calls the stages of ``iabench.pipeline`` in order (plan, models, explain, score, artifacts). Each
stage's output is cached under a key of its inputs: checkpoints under the training config's hash, saliency
maps under (checkpoint, explainer, options, targets, samples), per-sample scores in the run directory's
append-only ``results.csv``. A run stopped at any moment continues where it stopped when run again with the
same configuration (same run directory) and ends with identical files.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .data import load_dataset
from .device import batch_size_for, resolve_device
from .errors import UserError
from .pipeline.artifacts import write_heatmaps, write_manifest, write_run_files
from .pipeline.explain import Explanations, FailureLog
from .pipeline.given import GivenModel, check_fits, fit_suite, given_models, load_given
from .pipeline.models import load_data, train_models, train_parallel
from .pipeline.plan import (
    RunOptions,
    default_cache_dir,
    explainer_classes,
    prepare_run_dir,
    select_samples,
    suite_hash,
    work_items,
)
from .pipeline.score import Scorer, Subject
from .pipeline.shards import Shard, finish, merge, wait_for_all
from .runlog import run_log
from .store import ResultStore
from .suites import MethodSpec, Suite, load_suite
from .training.parallel import auto_jobs

__all__ = ["Run", "RunOptions", "default_cache_dir", "run"]


class Run:
    """One suite, one run directory: the stages in order, each timed."""

    def __init__(self, suite: Suite, options: RunOptions) -> None:
        from iabench.metrics import METRICS

        self.suite, self.options = suite, options
        self.device = resolve_device(options.device)
        self.given = None
        if options.checkpoint or options.model:
            self._fit_to_given()
        self.config_hash = suite_hash(suite)  # the suite as asked for; load_data may fit in_chans/num_classes
        self.run_dir, self.run_id = prepare_run_dir(suite, options)
        self.cache_dir = Path(options.cache_dir).expanduser()
        self.timings: dict[str, float] = {}
        self.explainer_classes = explainer_classes(suite.explainers)
        self.metrics = {s.label: METRICS.create(s.name, **self._metric_options(s)) for s in suite.metrics}
        self.torchrun = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.shard = Shard.parse(options.shard) if options.shard else Shard.from_torchrun()
        if options.shard and self.torchrun:
            raise UserError("--shard is for runs without torchrun; under torchrun each rank is a shard already")
        self.failures = FailureLog(self.run_dir, self.shard.suffix)

    def _fit_to_given(self) -> None:
        """--model/--checkpoint: the suite evaluates that model alone, no training (see pipeline.given)."""
        if not (self.options.checkpoint and self.options.model):
            raise UserError("--model and --checkpoint go together: --model ARCH --checkpoint FILE")
        given = GivenModel.parse(self.options.model, self.options.checkpoint)
        model, config = load_given(given)
        key = given.key()
        fit_suite(self.suite, given, config, key)
        self.given = (given, model.to(self.device), config, key)

    def _metric_options(self, spec: MethodSpec) -> dict[str, Any]:
        """The suite's options; on CUDA, forwards batched as large as half the free memory allows."""
        options = dict(spec.options)
        if self.device.type == "cuda" and "max_batch" not in options:
            config = max((v.model for v in self.suite.models), key=lambda c: (c.img_size // c.patch_size) ** 2)
            tokens = (config.img_size // config.patch_size) ** 2 + 1
            width, heads = config.embed_dim or 768, config.num_heads or 12
            per_image = 4 * (heads * tokens * tokens + 8 * tokens * width)  # attention + a few token copies
            options["max_batch"] = batch_size_for(self.device, 1024, per_image)
        return options

    def execute(self) -> Path:
        """Run every stage; the log lines also go to the run directory's ``run.log``."""
        with run_log(self.run_dir / f"run{self.shard.suffix}.log"):
            return self._execute()

    def _execute(self) -> Path:
        started = time.perf_counter()
        suite, options = self.suite, self.options
        self.data = self._stage("data", lambda: load_data(suite) if self.given is None else load_dataset(suite.data))
        if self.given is not None:
            check_fits(self.data, self.given[2], self.given[0])
        if any(m.needs_masks for m in self.metrics.values()) and not self.data.has_masks:
            raise UserError(f"suite '{suite.name}' has localisation metrics but dataset '{self.data.name}' "
                            "has no ground-truth masks; use data.name=cluttered-fashion-mnist")
        for metric in self.metrics.values():  # e.g. the 'black' substrate: a black pixel under this normalisation
            if hasattr(metric, "fit_to_data"):
                metric.fit_to_data(self.data.mean, self.data.std)
        self.samples = select_samples(self.data, suite.split, suite.samples, suite.data.seed)
        self.trained = self._models()
        if options.fresh:  # only now: a run that fails before this point leaves earlier results intact
            for name in ("results", "curves", "failures"):
                (self.run_dir / f"{name}{self.shard.suffix}.csv").unlink(missing_ok=True)
        self.shard.marker(self.run_dir).unlink(missing_ok=True)  # done again only when this pass ends
        store = ResultStore(self.run_dir, self.run_id, self.shard.suffix)
        explanations = Explanations(suite.explainers, self.explainer_classes, suite.target, self.cache_dir,
                                    self.failures)
        scorer = Scorer(self.metrics, explanations, store, self.samples, self.device, suite.target, suite.batch_size,
                        self.shard, suite.metrics)
        for seed in suite.seeds:
            self._stage("explain+score", lambda seed=seed: self._score(scorer, seed))
        store.finalize()
        if self.shard.count > 1:  # every shard leaves its marker; rank 0 of a torchrun launch merges them
            finish(self.shard, self.run_dir)
            if self.shard.index != 0:
                return self.run_dir
            if self.torchrun:
                self._stage("merge", lambda: (wait_for_all(self.shard, self.run_dir), merge(self.run_dir)))
        self._stage("artifacts", lambda: self._artifacts(explanations))
        self.timings["total"] = time.perf_counter() - started
        self._manifest()
        if options.report and (self.shard.count == 1 or self.torchrun):  # --shard: `iabench merge` reports
            from .reporting import build_report

            self._stage("report", lambda: build_report(self.run_dir))
            self._manifest()
        return self.run_dir

    def _models(self) -> dict:
        """The given model, or each variant of each seed trained (in parallel processes when asked) or loaded."""
        if self.given is not None:
            given, model, _, key = self.given
            return given_models(self.suite, given, model, key)
        jobs = auto_jobs(self.device) if self.options.jobs == 0 else self.options.jobs
        if jobs > 1:
            self._stage("train", lambda: train_parallel(self.suite, self.data, self.device, self.cache_dir, jobs))
        trained = {}
        for seed in self.suite.seeds:
            trained.update(self._stage("train", lambda seed=seed: train_models(
                self.suite, self.data, self.device, self.cache_dir, seed)))
        return trained

    def _stage(self, name: str, fn: Any) -> Any:
        started = time.perf_counter()
        result = fn()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        return result

    def _score(self, scorer: Scorer, seed: int) -> None:
        items = work_items(self.suite, self.explainer_classes, seed)
        bar = tqdm(items, desc=f"explain+score (seed {seed})", disable=not self.options.progress, dynamic_ncols=True)
        for item in bar:
            bar.set_postfix_str(f"{item.model} / {item.explainer or 'model metrics'}")
            trained = self.trained[(seed, item.model)]
            scorer(item, Subject(trained.model, trained.kind, trained.key))

    def _artifacts(self, explanations: Explanations) -> None:
        self.failures.finalize()
        write_run_files(self.run_dir, self.suite, self.metrics, self.explainer_classes, self.trained)
        write_heatmaps(self.run_dir, self.suite, self.data, self.samples, self.trained, explanations, self.device)

    def _manifest(self) -> None:
        write_manifest(self.run_dir, self.suite, self.run_id, self.config_hash, self.device, self.timings, self.data,
                       self.samples, self.trained, self.failures.count)


def run(name_or_path: str, overrides: list[str] | None = None, options: RunOptions | None = None) -> list[Path]:
    """Run a suite (or each suite it includes); returns the run directories."""
    options = options or RunOptions()
    suite = load_suite(name_or_path, overrides)
    if suite.include:
        suites = [load_suite(name, overrides) for name in suite.include]  # validate all before running any
        return [Run(s, options).execute() for s in suites]
    return [Run(suite, options).execute()]
