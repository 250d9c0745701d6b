"""Train several models at once on a CPU, one process each (``iabench run --jobs N``).

A tiny ViT keeps one core busy but gains little from a second intra-op thread, so on a CPU machine N
single-threaded processes, one model each, finish a study's many (variant, seed) models close to N times
sooner (docs/models-and-training.md). Each process loads the dataset itself, trains one model and
writes its checkpoint to the cache; the run then loads every model from the cache as usual, so the
results are those of a sequential run. GPUs train one model at a time per process (use ``torchrun``).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import DataConfig, ModelConfig, TrainConfig
from ..errors import UserError
from .cache import checkpoint_path, train_or_load

log = logging.getLogger("iabench")


@dataclass(frozen=True)
class TrainJob:
    """One model to train: its kind and the configs that key its checkpoint."""

    name: str
    kind: str
    model: ModelConfig
    train: TrainConfig


def die_with_parent(parent: int | None = None) -> None:
    """Worker initialiser: on Linux, have the kernel send SIGTERM to this worker when its parent dies, so that a
    killed run (SIGTERM or SIGKILL to the main process) does not leave training processes running for minutes.
    ``parent``: the parent's pid, taken before the worker started: a parent that died before this call (a worker
    spends seconds importing torch first) sends no signal any more, so the worker exits here instead.
    Written by hand (prctl through ctypes) because neither multiprocessing nor concurrent.futures offers it."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if parent is not None and os.getppid() != parent:
            os._exit(1)


_LINES: Any = None  # in a worker: the queue its progress lines go to (the parent logs them)


def _init_worker(lines: Any, parent: int) -> None:
    """Worker initialiser: die with the parent; keep the parent's line queue (a queue is handed to a process
    when it starts, never with a task)."""
    global _LINES
    die_with_parent(parent)
    _LINES = lines


def _train_job(job: TrainJob, data: DataConfig, key_data: DataConfig, cache_dir: Path, threads: int,
               progress: bool) -> float:
    """Worker: train one model into the cache, its progress lines put on the parent's queue; returns its training
    seconds."""
    torch.set_num_threads(threads)
    from ..data import load_dataset

    trained = train_or_load(job.kind, job.model, key_data, job.train, load_dataset(data), torch.device("cpu"),
                            cache_dir, progress=progress, name=job.name, emit=_LINES.put,
                            load_data=lambda key: load_dataset(dataclasses.replace(key, root=data.root)))
    return trained.seconds


def _drain(lines: Any) -> None:
    """Log every line the workers have sent so far."""
    while True:
        try:
            log.info(lines.get_nowait())
        except queue.Empty:
            return


def auto_jobs(device: torch.device) -> int:
    """``--jobs auto``: on a CPU one single-threaded process per thread torch would use (so
    ``OMP_NUM_THREADS=1`` means one process), on a GPU one."""
    return torch.get_num_threads() if device.type == "cpu" else 1


def threads_per_process(processes: int) -> int:
    """Each of ``processes`` processes' share of this process's intra-op threads (at least one)."""
    return max(1, torch.get_num_threads() // processes)


def train_in_parallel(jobs: list[TrainJob], data: DataConfig, key_data: DataConfig, cache_dir: Path,
                      processes: int, progress: bool = True) -> dict[str, float]:
    """Train the jobs that have no cached checkpoint, ``processes`` at a time, each process with its
    share of this process's threads. Returns the training seconds of each job trained, by name."""
    todo = [job for job in jobs if not checkpoint_path(cache_dir, job.kind, job.model, job.train, key_data).exists()]
    if processes < 1:
        raise UserError(f"--jobs {processes}: use 1 or more processes")
    if processes == 1 or len(todo) < 2:
        return {}
    processes = min(processes, len(todo))
    threads = threads_per_process(processes)
    seconds: dict[str, float] = {}
    context = multiprocessing.get_context("spawn")  # fork would copy this process's torch thread pools
    log.info("training %d models, %d processes of %d thread%s each", len(todo), processes, threads,
             "" if threads == 1 else "s")
    lines = context.Queue()
    with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_init_worker,
                             initargs=(lines, os.getpid())) as pool:
        futures = {pool.submit(_train_job, job, data, key_data, cache_dir, threads, progress): job
                   for job in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(lines)
            for future in done:
                error = future.exception()
                if error is not None:  # stop the others: a bad config fails every job alike
                    for other in pending:
                        other.cancel()
                    raise error
                seconds[futures[future].name] = future.result()
    _drain(lines)  # the workers have exited: their last lines are in the queue now
    lines.close()
    return seconds
