"""A refusal leaves no run folder behind (a folder holding only its log is removed, with the folders above it that
the run made); a folder holding anything else, or one that was there before, is kept."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from support import write_suite

from iabench.cli import main
from iabench.pipeline.rundir import discard_refused


def test_a_refusal_at_data_load_leaves_no_folder(tmp_path: Path, capsys) -> None:
    torch.manual_seed(0)  # 5 classes: synthetic has 10, refused once the data is read
    model = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, in_chans=1, num_classes=5,
                              embed_dim=32, depth=1, num_heads=2)
    torch.save(model.state_dict(), tmp_path / "five.pth")
    out = tmp_path / "reports"
    args = ["run", "--suite", str(write_suite(tmp_path / "s.yaml")), "--model", "vit_tiny_patch16_224", "--checkpoint",
            str(tmp_path / "five.pth"), "--set", "model.num_heads=2", "--out", str(out), "--cache-dir",
            str(tmp_path / "cache"), "--quiet"]
    assert main(args) == 2 and "head has 5 classes, dataset 'synthetic' has 10" in capsys.readouterr().err
    assert not out.exists()
    (out / "kept").mkdir(parents=True)  # a folder above the run that was there before stays
    assert main(args) == 2
    assert sorted(p.name for p in out.iterdir()) == ["kept"]

def test_only_a_folder_made_by_the_run_and_holding_only_logs_is_removed(tmp_path: Path) -> None:
    run_dir = tmp_path / "out" / "suite" / "abc"
    run_dir.mkdir(parents=True)
    (run_dir / "run.log").write_text("refused")
    (run_dir / "run.shard1.log").write_text("refused")  # another shard's: its process removes it
    discard_refused(run_dir, [run_dir, run_dir.parent], "run.shard1.log")
    assert [p.name for p in run_dir.iterdir()] == ["run.log"]
    discard_refused(run_dir, [run_dir, run_dir.parent], "run.log")
    assert not run_dir.parent.exists() and (tmp_path / "out").is_dir()  # out was there before: not listed, kept
    run_dir.mkdir(parents=True)
    (run_dir / "run.log").write_text("x")
    (run_dir / "results.csv").write_text("model\n")  # scores stored: a run resumed later needs them
    discard_refused(run_dir, [run_dir])
    assert sorted(p.name for p in run_dir.iterdir()) == ["results.csv", "run.log"]
    (run_dir / "results.csv").unlink()
    discard_refused(run_dir, [])  # there before this run: kept, log and all
    assert (run_dir / "run.log").exists()


def test_a_refusal_in_a_later_included_suite_leaves_no_folder(tmp_path: Path, monkeypatch) -> None:
    """The suites of an include are all built before any runs: a refusal building the second removes the first's
    folder and the folders above it."""
    import iabench.runner as runner
    from iabench.errors import UserError

    first, second = write_suite(tmp_path / "a.yaml"), write_suite(tmp_path / "b.yaml", samples=4)
    including = tmp_path / "both.yaml"
    including.write_text(f"include:\n  - {first}\n  - {second}\n")
    built = []
    real = runner.create_metrics

    def refuse_the_second(suite, device):
        built.append(suite.name)
        if len(built) == 2:
            raise UserError("refused")
        return real(suite, device)

    monkeypatch.setattr(runner, "create_metrics", refuse_the_second)
    out = tmp_path / "reports"
    assert main(["run", "--suite", str(including), "--out", str(out), "--cache-dir", str(tmp_path / "c"),
                 "--quiet"]) == 2
    assert built == ["a", "b"] and not out.exists()
