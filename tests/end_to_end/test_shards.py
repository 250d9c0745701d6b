"""Sharded evaluation: `--shard I/N` + `iabench merge`, and torchrun with two CPU processes (gloo), each equal to
a one-process run byte for byte; a rank killed midway resumes its shard on the next launch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import MICRO_SUITE, only_run_dir, write_suite

from iabench.cli import main
from iabench.errors import UserError
from iabench.pipeline.shards import Shard, merge

SUITE = dict(MICRO_SUITE, samples=24, batch_size=4, explainers=["attention", "random"])  # 6 chunks
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"


def test_shard_parse_and_take() -> None:
    assert Shard.parse("1/3") == Shard(1, 3) and Shard(1, 3).take(list(range(10))) == [1, 4, 7]
    assert Shard(0, 1).suffix == "" and Shard(1, 3).suffix == ".shard-1-of-3"
    for bad in ("3/3", "1", "-1/2", "a/b"):
        with pytest.raises(UserError, match="is not I/N"):
            Shard.parse(bad)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("shards")
    suite = write_suite(base / "micro.yaml", **{k: v for k, v in SUITE.items() if k not in MICRO_SUITE or
                                                 MICRO_SUITE[k] != v})
    assert main(["run", "--suite", str(suite), "--out", str(base / "one"), "--cache-dir", str(base / "cache"),
                 "--quiet", "--device", "cpu", "--jobs", "1", "--no-report"]) == 0
    return base, suite, only_run_dir(base / "one")


def same_files(a: Path, b: Path) -> None:
    for name in ("results.csv", "curves.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_shards_and_merge_equal_one_process(one_process, capsys) -> None:
    base, suite, reference = one_process
    args = ["run", "--suite", str(suite), "--out", str(base / "sharded"), "--cache-dir", str(base / "cache"),
            "--quiet", "--device", "cpu", "--jobs", "1"]
    assert main(args + ["--shard", "1/2"]) == 0
    run_dir = only_run_dir(base / "sharded")
    assert not (run_dir / "results.csv").exists() and (run_dir / "results.shard-1-of-2.csv").exists()
    with pytest.raises(UserError, match="shard\\(s\\) 0/2 .* have not finished"):
        merge(run_dir)
    assert main(args + ["--shard", "0/2"]) == 0
    capsys.readouterr()
    assert main(["merge", str(run_dir)]) == 0
    assert "merged 2 shards" in capsys.readouterr().out and (run_dir / "report.html").exists()
    same_files(reference, run_dir)


def rank_pid(out: Path, rank: int) -> int | None:
    """The pid of torchrun's worker ``rank`` writing under ``out`` (read from /proc: Linux)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(out) in cmdline and f"RANK={rank}".encode() in environ and "torchrun" not in cmdline:
            return int(proc.name)
    return None


def launch(base: Path, suite: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [TORCHRUN, "--nproc_per_node", "2", "--master_port", str(port), "-m", "iabench", "run", "--suite", str(suite),
         "--out", str(base / "launched"), "--cache-dir", str(base / "cache"), "--quiet", "--device", "cpu",
         "--jobs", "1", "--no-report"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process in /proc (Linux)")
def test_torchrun_shards_by_rank_and_a_killed_rank_resumes(one_process) -> None:
    base, suite, reference = one_process
    first = launch(base, suite, 29551)
    shard_file, deadline = None, time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:  # kill rank 1 once its shard has some rows
        found = list((base / "launched").glob("*/*/results.shard-1-of-2.csv"))
        if found and len(found[0].read_text().splitlines()) > 6:
            shard_file = found[0]
            os.kill(rank_pid(base / "launched", 1), signal.SIGKILL)
            break
        time.sleep(0.05)
    first.communicate(timeout=120)
    assert shard_file is not None and first.returncode != 0, "rank 1 was not killed midway"
    kept = len(shard_file.read_text().splitlines())
    run_dir = shard_file.parent
    assert not (run_dir / "shard-1-of-2.done").exists() and not (run_dir / "results.csv").exists()
    second = launch(base, suite, 29552)
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err[-2000:]
    assert len(shard_file.read_text().splitlines()) > kept  # resumed: the kept rows plus the rest
    same_files(reference, run_dir)
