"""Where a run writes: its directory, created and checked writable, and removed again when a refusal left nothing
in it but its log (a run stopped by the user, or one that stored anything, keeps what it wrote)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError
from ..suites import Suite
from .plan import RunOptions, suite_hash


def prepare_run_dir(suite: Suite, options: RunOptions) -> tuple[Path, str, list[Path]]:
    """The run directory (created, checked writable), its id, and the folders this call created (innermost first);
    an existing one of another config is refused."""
    run_id = options.run_id or suite_hash(suite)
    run_dir = Path(options.out_dir) / suite.name / run_id
    created = [d for d in (run_dir, *run_dir.parents) if not d.exists()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"  # one per process: torchrun's ranks probe at once
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to '{run_dir}' ({err.strerror}); pass --out DIR with a writable "
                        "directory") from None
    manifest = run_dir / "manifest.json"
    if manifest.exists() and not options.fresh:
        stored = json.loads(manifest.read_text()).get("config_hash")
        if stored and stored != suite_hash(suite):
            raise UserError(f"run directory '{run_dir}' holds a run of another configuration; use another "
                            "--run-id, or --fresh to discard it")
    return run_dir, run_id, created


def discard_refused(run_dir: Path, created: list[Path], log_name: str = "run.log") -> None:
    """Remove a run directory this process created, with the folders above it that it created, when it holds
    nothing but run logs (what a refusal leaves): its own log (``log_name``) goes, then each folder that is empty
    (another rank's or shard's log keeps it, and that process removes it); anything else is kept."""
    if not created:
        return
    try:
        entries = list(run_dir.iterdir())
    except OSError:  # gone already (another rank removed it)
        return
    if any(not (p.is_file() and p.name.startswith("run") and p.suffix == ".log") for p in entries):
        return
    (run_dir / log_name).unlink(missing_ok=True)
    for folder in created:
        try:
            folder.rmdir()
        except OSError:  # not empty (another process's files), or gone: it stays to them
            return


@contextlib.contextmanager
def discarded_on_refusal(run_dir: Path, created: list[Path], log_name: str) -> Iterator[None]:
    """A refusal (bad input, ``UserError``) in the block leaves no run directory behind that holds only its log."""
    try:
        yield
    except UserError:
        discard_refused(run_dir, created, log_name)
        raise
