"""Training progress as plain lines: where a model is (step and epoch out of the total, loss, elapsed and
remaining time) every few seconds, and one line when it is done.

Lines rather than progress bars so that several training processes can share one terminal and one log file:
a worker sends its lines to the parent (``iabench.training.parallel``), which logs them as its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("iabench")
EVERY_SECONDS = 5.0  # how often a progress line is written while a model trains


def clock(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3700`` -> ``1:01:40``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def finished_line(name: str, metrics: dict[str, float], seconds: float) -> str:
    """The line a model's training ends with: test accuracy (and the interpreter's accuracy and agreement)."""
    parts = [f"test accuracy {100 * metrics['test_acc']:.2f} %"]
    if "test_inter_acc" in metrics:
        parts += [f"interpreter {100 * metrics['test_inter_acc']:.2f} %",
                  f"agreement {100 * metrics['test_agreement']:.2f} %"]
    return f"{name}: trained in {seconds:.0f} s, {', '.join(parts)}"


class TrainingProgress:
    """Writes ``NAME: step S/T (epoch E/N), loss L, M:SS elapsed, ~M:SS left`` at most every ``every`` seconds
    (and at the last step) through ``emit``."""

    def __init__(self, name: str, total_steps: int, epochs: int, emit: Callable[[str], None] | None = None,
                 every: float = EVERY_SECONDS, clock_fn: Callable[[], float] = time.perf_counter) -> None:
        self.name, self.total_steps, self.epochs = name, total_steps, epochs
        self.emit = emit or log.info
        self.every, self.clock_fn = every, clock_fn
        self.started = clock_fn()
        self.last = self.started

    def step(self, step: int, epoch: int, loss: float) -> None:
        """Called after every optimiser step (``step`` counts from 1, ``epoch`` too)."""
        now = self.clock_fn()
        if now - self.last < self.every and step < self.total_steps:
            return
        self.last = now
        elapsed = now - self.started
        left = elapsed / step * (self.total_steps - step)
        self.emit(f"{self.name}: step {step}/{self.total_steps} (epoch {epoch}/{self.epochs}), loss {loss:.4f}, "
                  f"{clock(elapsed)} elapsed, ~{clock(left)} left")

    def epoch_done(self, epoch: int, record: dict[str, float]) -> None:
        """One line per finished epoch: mean training loss and validation accuracy."""
        parts = [f"loss {record['loss']:.4f}", f"validation accuracy {100 * record['val_acc']:.2f} %"]
        if "val_agreement" in record:
            parts.append(f"agreement {100 * record['val_agreement']:.2f} %")
        self.emit(f"{self.name}: epoch {epoch}/{self.epochs} done, {', '.join(parts)}, "
                  f"{clock(self.clock_fn() - self.started)} elapsed")
