"""The main job: config -> data -> models (trained or cached) -> explanations -> scores -> report.

``Run`` calls the stages of ``iabench.pipeline`` in order (plan, models, explain, score, artifacts). Each
stage's output is cached under a key of its inputs: checkpoints under the training config's hash, saliency
maps under (checkpoint, explainer, options, targets, samples), per-sample scores in the run directory's
append-only ``results.csv``. A run stopped at any moment continues where it stopped when run again with the
same configuration (same run directory) and ends with identical files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

from .data import load_dataset
from .device import resolve_device
from .errors import UserError
from .pipeline.artifacts import write_heatmaps, write_manifest, write_run_files
from .pipeline.costs import CostBook, record_rest
from .pipeline.estimate import plan_line, rest_keys
from .pipeline.evaluation import Evaluation
from .pipeline.explain import FailureLog
from .pipeline.given import GivenRun, check_fits, fit_suite, given_models, given_options
from .pipeline.models import fit_to_data, train_all
from .pipeline.plan import (
    RunOptions,
    create_metrics,
    default_cache_dir,
    explainer_classes,
    fit_metrics,
    suite_hash,
)
from .pipeline.reliance import write_reliance
from .pipeline.rundir import discard_refused, discarded_on_refusal, prepare_run_dir
from .pipeline.samples import select_samples
from .pipeline.shards import Shard, discard_scores, finish, merge, wait_for_all
from .runlog import run_log
from .suites import Suite, included_suites, load_suite
from .suites.overrides import Overrides
from .training.parallel import auto_jobs

__all__ = ["Run", "RunOptions", "default_cache_dir", "run"]
log = logging.getLogger("iabench")


class Run:
    """One suite, one run directory: the stages in order, each timed."""

    def __init__(self, suite: Suite, options: RunOptions) -> None:
        self.options, self.device = options, resolve_device(options.device)
        given = options.checkpoint or options.model
        self.given = GivenRun.load(options, self.device, suite.data.img_size) if given else None
        # the suite as asked for (the given model in it): its hash names the run; fit_to_data fits it once
        self.suite = suite = fit_suite(suite, self.given) if self.given is not None else suite
        self.config_hash = suite_hash(suite)
        self.explainer_classes = explainer_classes(suite.explainers)  # what can be refused now is, before any folder
        self.metrics = create_metrics(suite, self.device)
        self.shard, self.torchrun = Shard.for_run(options.shard), int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.run_dir, self.run_id, self.created = prepare_run_dir(suite, options)
        self.log_name = f"run{self.shard.suffix}.log"
        self.cache_dir = Path(options.cache_dir).expanduser()
        self.timings: dict[str, float] = {}
        self.failures = FailureLog(self.run_dir, self.shard.suffix)
        self.failed_this_session = 0  # failures recorded by this session (manifest.json)

    def execute(self) -> Path:
        """Run every stage; the log lines also go to the run directory's ``run.log``."""
        with discarded_on_refusal(self.run_dir, self.created, self.log_name), run_log(self.run_dir / self.log_name):
            return self._execute()

    def _execute(self) -> Path:
        started = time.perf_counter()
        self.data = self._stage("data", lambda: load_dataset(self.suite.data))
        if self.given is not None:
            check_fits(self.data, self.given)
        else:
            self.suite = fit_to_data(self.suite, self.data)  # the channels and classes of the data, once
        suite = self.suite
        fit_metrics(self.metrics, self.data, suite.name, self.explainer_classes)
        self.samples = select_samples(self.data, suite.split, suite.samples, suite.data.seed)
        self.costs = CostBook.open(self.cache_dir)
        self.evaluation = Evaluation(suite, self.run_dir, self.run_id, self.explainer_classes, self.metrics,
                                     self.samples, self.device, self.cache_dir, self.costs, self.failures, self.shard)
        self._plan()
        self.trained = self.evaluation.trained = self._models()
        if self.options.fresh:  # only now: a run that fails before this point leaves earlier results intact
            discard_scores(self.run_dir, self.shard)
        self.shard.marker(self.run_dir).unlink(missing_ok=True)  # done again only when this pass ends
        self.failed_this_session = self._stage("explain+score", lambda: self.evaluation.run(
            self._parts(), self.options.progress))
        if self.shard.count > 1:  # every shard leaves its marker; rank 0 of a torchrun launch merges them
            finish(self.shard, self.run_dir)
            if self.shard.index != 0:
                return self.run_dir
            if self.torchrun:
                self._stage("merge", lambda: (wait_for_all(self.shard, self.run_dir), merge(self.run_dir)))
        self._stage("artifacts", self._artifacts)
        self.timings["total"] = time.perf_counter() - started
        self._manifest()  # then the report; with --shard, `iabench merge` writes it
        self.report(self.options.report and (self.shard.count == 1 or self.torchrun))
        return self.run_dir

    def report(self, build: bool = True) -> None:
        """The report when ``build`` (also later, for a suite that writes a contrast into it first), the manifest
        with its seconds, and the run's fixed seconds into the cost book (set again by a later report)."""
        if build:  # the report reads the manifest written before it
            from .reporting import build_report
            self._stage("report", lambda: build_report(self.run_dir))
        self._manifest()
        record_rest(self.costs, rest_keys(self.suite, self.device), self.timings)

    def _models(self) -> dict:
        """The given model, or each variant of each seed trained (in parallel processes when asked) or loaded."""
        if self.given is not None:
            return given_models(self.suite, self.given)
        return train_all(self.suite, self.data, self.device, self.cache_dir, self._jobs(), self.costs, self._stage)

    def _stage(self, name: str, fn: Any) -> Any:
        started = time.perf_counter()
        result = fn()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        return result

    def _jobs(self) -> int:
        return auto_jobs(self.device) if self.options.jobs == 0 else self.options.jobs

    def _parts(self) -> int:  # local processes to explain and score in: --jobs on a CPU, for a run not a shard
        return 1 if self.shard.count > 1 or self.device.type != "cpu" else self._jobs()

    def _plan(self) -> None:
        """One line before any work: the models to train or load, what to explain and score, the time expected."""
        given = f"evaluate the model of {self.given.given.path} (no training)" if self.given is not None else ""
        self.estimate = plan_line(self.suite, len(self.data.train), given, self.cache_dir, self.device, self._jobs(),
                                  self.costs, lambda e: self.evaluation.plan(self._parts(), e))

    def _artifacts(self) -> None:
        self.failures.finalize()
        write_run_files(self.run_dir, self.suite, self.metrics, self.explainer_classes, self.trained)
        write_heatmaps(self.run_dir, self.suite, self.data, self.samples, self.trained, self.evaluation.explanations(),
                       self.device)
        write_reliance(self.run_dir, self.trained, self.data, self.suite.data, self.device)  # planted evidence only

    def _manifest(self) -> None:
        write_manifest(self.run_dir, self.suite, self.run_id, self.config_hash, self.device, self.timings, self.data,
                       self.samples, self.trained, self.failed_this_session, self.estimate.record())


def run(name_or_path: str, overrides: list[str] | Overrides | None = None,
        options: RunOptions | None = None) -> list[Path]:
    """Run a suite (or each suite it includes); returns the run directories."""
    options = options or RunOptions()
    overrides = Overrides.parse(overrides)
    if options.model or options.checkpoint:  # its heads are the model's, not the suite's (whose model it replaces)
        options, overrides = given_options(options, overrides), overrides.without("model.num_heads")
    suite = load_suite(name_or_path, overrides)
    if not suite.include:
        return [Run(suite, options).execute()]
    suites = included_suites(suite, overrides)  # validate all before running any
    later = suite.contrast and options.report  # the contrast goes into a report: each report is built once, after it
    runs: list[Run] = []
    try:
        for s in suites:  # one by one: a refusal building one leaves those built before in ``runs``
            runs.append(Run(s, dataclasses.replace(options, report=False) if later else options))
        run_dirs = [r.execute() for r in runs]
    except UserError:  # the suites not yet run leave no folder either (the last made, the first removed)
        for r in reversed(runs):
            discard_refused(r.run_dir, r.created, r.log_name)
        raise
    if later:
        from .contrasts import contrast_runs

        contrast_runs(run_dirs, build=False)
        for r in runs:
            r.report()
    return run_dirs
