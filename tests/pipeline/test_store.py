"""The append-only result store: torn lines, duplicates and uncommitted curves after a kill."""

from __future__ import annotations

import pandas as pd

from iabench.store import ResultStore


def _fill(store: ResultStore, samples: list[int]) -> None:
    store.add(0, "vit", "rollout", "deletion", samples, [s / 10 for s in samples], [0.0, 0.5, 1.0],
              [[1.0, 0.5 * s, 0.0] for s in samples])


def test_round_trip_and_finalize_sorted(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    _fill(store, [5, 1])
    store.add(0, "ia-vit", "-", "accuracy", [1, 5], [1.0, 0.0])
    store.finalize()
    results = pd.read_csv(tmp_path / "results.csv")
    assert list(results.columns) == ["run", "seed", "model", "explainer", "metric", "sample", "value"]
    assert results[["model", "sample"]].values.tolist() == [["ia-vit", 1], ["ia-vit", 5], ["vit", 1], ["vit", 5]]
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert len(curves) == 6 and curves.groupby("sample").x.apply(list).tolist() == [[0.0, 0.5, 1.0]] * 2


def test_adding_twice_writes_once(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    _fill(store, [1, 2])
    _fill(store, [1, 2, 3])
    assert len(pd.read_csv(tmp_path / "results.csv")) == 3
    reopened = ResultStore(tmp_path, "run1")
    assert reopened.missing([(0, "vit", "rollout", "deletion", s) for s in (1, 3, 4)]) == [
        (0, "vit", "rollout", "deletion", 4)]


def test_torn_line_and_uncommitted_curves_are_dropped(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    _fill(store, [1, 2])
    complete = (tmp_path / "results.csv").read_bytes()
    # a kill in the middle of writing: half a results line, and curves of a sample never committed
    with open(tmp_path / "results.csv", "ab") as f:
        f.write(b"run1,0,vit,rollout,deletion,3,0.")
    with open(tmp_path / "curves.csv", "a") as f:
        f.write("run1,0,vit,rollout,deletion,3,0.0,1.0\n")
    reopened = ResultStore(tmp_path, "run1")
    assert (tmp_path / "results.csv").read_bytes() == complete
    assert reopened.missing([(0, "vit", "rollout", "deletion", 3)])
    _fill(reopened, [3])
    reopened.finalize()
    # identical to a store that was never interrupted
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = ResultStore(clean_dir, "run1")
    _fill(clean, [1, 2, 3])
    clean.finalize()
    for name in ("results.csv", "curves.csv"):
        assert (tmp_path / name).read_bytes() == (clean_dir / name).read_bytes()


def test_nan_values_round_trip(tmp_path) -> None:
    store = ResultStore(tmp_path, "r")
    store.add(0, "vit", "lrp", "deletion", [7], [float("nan")])
    store.finalize()
    assert pd.read_csv(tmp_path / "results.csv").value.isna().all()


def test_an_empty_file_gets_its_header(tmp_path) -> None:
    # a kill right after the file was created leaves it empty: it must be started over, not left headerless
    (tmp_path / "results.csv").write_text("")
    (tmp_path / "curves.csv").write_text("")
    _fill(ResultStore(tmp_path, "run1"), [1])
    assert pd.read_csv(tmp_path / "results.csv")["sample"].tolist() == [1]
    assert pd.read_csv(tmp_path / "curves.csv")["x"].tolist() == [0.0, 0.5, 1.0]


def test_rows_of_the_wrong_width_are_neither_done_nor_kept(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    _fill(store, [1])
    with open(tmp_path / "results.csv", "a") as f:  # complete lines, but one field short / one too many
        f.write("run1,0,vit,rollout,deletion,2\nrun1,0,vit,rollout,deletion,3,0.3,extra\n")
    with open(tmp_path / "curves.csv", "a") as f:
        f.write("run1,0,vit,rollout,deletion,1,0.25\nrun1,0,vit,rollout,deletion,1,0.75,0.5,extra\n")
    reopened = ResultStore(tmp_path, "run1")
    keys = [(0, "vit", "rollout", "deletion", s) for s in (1, 2, 3)]
    assert reopened.missing(keys) == keys[1:]
    reopened.finalize()
    assert pd.read_csv(tmp_path / "results.csv")["sample"].tolist() == [1]
    assert pd.read_csv(tmp_path / "curves.csv")["x"].tolist() == [0.0, 0.5, 1.0]


def test_finalize_drops_curves_whose_result_never_came(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    _fill(store, [1])
    with open(tmp_path / "curves.csv", "a") as f:  # killed between a curve and its result, never resumed
        f.write("run1,0,vit,rollout,deletion,2,0.0,1.0\n")
    ResultStore(tmp_path, "run1").finalize()
    assert pd.read_csv(tmp_path / "curves.csv")["sample"].tolist() == [1, 1, 1]


def test_curve_points_without_values_write_no_curve(tmp_path) -> None:
    store = ResultStore(tmp_path, "run1")
    store.add(0, "vit", "rollout", "deletion", [1], [0.1], curve_x=[0.0, 1.0], curves=None)
    store.add(0, "vit", "rollout", "insertion", [1], [0.2], curve_x=None, curves=[[1.0, 0.0]])
    store.finalize()
    assert pd.read_csv(tmp_path / "results.csv")["value"].tolist() == [0.1, 0.2]
    assert pd.read_csv(tmp_path / "curves.csv").empty
