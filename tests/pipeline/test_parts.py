"""Explain+score in local processes (iabench/pipeline/parts.py): part files folded into the run's own files (also
after a kill, with torn lines and rows already folded), errors and log lines of a forked part reaching the run, and a
--jobs 2 run killed half-way finishing as a one-process run would."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iabench.errors import UserError
from iabench.pipeline.parts import fold_parts, part_suffixes, score_in_parts
from iabench.pipeline.shards import Shard
from iabench.store import CURVE_COLUMNS, RESULT_COLUMNS

HEADER = ",".join(RESULT_COLUMNS) + "\n"
CURVE_HEADER = ",".join(CURVE_COLUMNS) + "\n"


def write(path: Path, text: str) -> None:
    path.write_text(text)


def test_fold_moves_every_part_row_into_the_run_files_once(tmp_path: Path) -> None:
    write(tmp_path / "results.csv", HEADER + "r,0,vit,a,deletion,5,0.5\n")
    write(tmp_path / "curves.csv", CURVE_HEADER + "r,0,vit,a,deletion,5,0.0,1.0\n")
    # part 0: a new row, and one row the run's file already holds (folded before a kill)
    write(tmp_path / "results.part-0-of-2.csv", HEADER + "r,0,vit,a,deletion,1,0.25\nr,0,vit,a,deletion,5,0.5\n")
    write(tmp_path / "curves.part-0-of-2.csv", CURVE_HEADER + "r,0,vit,a,deletion,1,0.0,0.75\n")
    # part 1: one committed row and a torn last line (killed mid-write), and a failure
    write(tmp_path / "results.part-1-of-2.csv", HEADER + "r,0,vit,b,deletion,0,0.125\nr,0,vit,b,delet")
    write(tmp_path / "failures.part-1-of-2.csv", "seed,model,explainer,sample,error\n0,vit,b,3,boom\n")
    assert part_suffixes(tmp_path) == [".part-0-of-2", ".part-1-of-2"]
    assert fold_parts(tmp_path, "r") == 2
    assert (tmp_path / "results.csv").read_text() == HEADER + (
        "r,0,vit,a,deletion,1,0.25\nr,0,vit,a,deletion,5,0.5\nr,0,vit,b,deletion,0,0.125\n")  # sorted by key
    assert (tmp_path / "curves.csv").read_text() == CURVE_HEADER + (
        "r,0,vit,a,deletion,1,0.0,0.75\nr,0,vit,a,deletion,5,0.0,1.0\n")
    assert (tmp_path / "failures.csv").read_text() == "seed,model,explainer,sample,error\n0,vit,b,3,boom\n"
    assert part_suffixes(tmp_path) == [] and fold_parts(tmp_path, "r") == 0


def _fake_part(part: Shard, tick) -> tuple[int, dict[str, list[float]]]:
    """A part that logs a line, ticks twice, fails on part 1 when asked, and reports its index as a cost."""
    logging.getLogger("iabench").info("part %d of %d working", part.index, part.count)
    tick(1)
    tick(1)
    if part.index == 1 and os.environ.get("FAKE_PART_FAILS") == "user":
        raise UserError("part 1 found bad input; fix it")
    if part.index == 1 and os.environ.get("FAKE_PART_FAILS") == "bug":
        raise ZeroDivisionError("division by zero")
    return part.index, {"k": [float(part.index), 1.0]}


def test_parts_send_ticks_lines_failures_and_costs(caplog: pytest.LogCaptureFixture) -> None:
    ticks = []
    with caplog.at_level(logging.INFO, logger="iabench"):
        failures, costs = score_in_parts(3, _fake_part, ticks.append)
    assert sum(ticks) == 6  # two per part, the children's through the queue
    assert failures == 0 + 1 + 2
    assert costs == {"k": [3.0, 2.0]}  # the children's (1 + 2 seconds over 2 units); part 0's is this process's own
    lines = {r.getMessage() for r in caplog.records}
    assert {"part 1 of 3 working", "part 2 of 3 working"} <= lines


def test_a_part_error_reaches_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_PART_FAILS", "user")
    with pytest.raises(UserError, match="^part 1 found bad input; fix it$"):
        score_in_parts(2, _fake_part, lambda n: None)
    monkeypatch.setenv("FAKE_PART_FAILS", "bug")
    with pytest.raises(RuntimeError, match="part process failed: division by zero"):
        score_in_parts(2, _fake_part, lambda n: None)


@pytest.mark.slow
def test_a_parallel_run_killed_half_way_resumes_to_the_one_process_files(tmp_path: Path) -> None:
    """--jobs 2 explains and scores in two processes; SIGKILL while the part files fill, resume with --jobs 1:
    the files equal those of an uninterrupted one-process run."""
    from support import write_suite  # noqa: PLC0415 - the micro suite of the runner's tests

    suite = write_suite(tmp_path / "micro.yaml", samples=24)
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def command(out: str, jobs: str, cache: str) -> list[str]:
        return [sys.executable, "-m", "iabench", "run", "--suite", str(suite), "--out", str(tmp_path / out),
                "--cache-dir", str(tmp_path / cache), "--quiet", "--device", "cpu", "--no-report", "--jobs", jobs]

    subprocess.run(command("one", "1", "cache-one"), env=env, check=True, capture_output=True, timeout=300)
    process = subprocess.Popen(command("two", "2", "cache-two"), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline, killed = time.time() + 240, False
    while time.time() < deadline and process.poll() is None:
        parts = list((tmp_path / "two").glob("*/*/results.part-*-of-2.csv"))
        if len(parts) == 2 and all(p.read_text().count("\n") > 8 for p in parts):
            os.killpg(process.pid, signal.SIGKILL)  # the run and its part processes
            killed = True
            break
        time.sleep(0.02)
    process.wait()
    assert killed, "the run finished before both parts had rows; make the suite longer"
    subprocess.run(command("two", "1", "cache-two"), env=env, check=True, capture_output=True, timeout=300)
    one, two = (next((tmp_path / d).glob("*/*/results.csv")).parent for d in ("one", "two"))
    assert not list(two.glob("*.part-*")), "part files left after the resumed run"
    for name in ("results.csv", "curves.csv"):
        assert (two / name).read_bytes() == (one / name).read_bytes(), name
