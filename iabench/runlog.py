"""The run's log file: every line the run logs (progress of training included) also goes to ``run.log`` in the
run directory, with the time of day, whatever the terminal shows (``--quiet`` silences the terminal only)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOGGER = "iabench"


@contextmanager
def run_log(path: Path) -> Iterator[Path]:
    """Append the ``iabench`` logger's INFO lines to ``path`` while the block runs."""
    logger = logging.getLogger(LOGGER)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(logging.INFO)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)
