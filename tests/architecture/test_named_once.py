"""Things the code names once: the model-level marker, the statistical tests, the registries' discovery."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from iabench.errors import UserError
from iabench.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
# the other places a bare "-" stands, each for something else than the model-level marker
NOT_THE_MARKER = {"iabench/store.py": "MODEL_LEVEL's own definition", "iabench/catalog.py": "an empty table cell",
                  "iabench/gpucheck/summary.py": "an empty table cell", "iabench/reporting/figures/palette.py":
                  "matplotlib's solid line style"}
# calls that compute a test statistic or a p-value: iabench.stats is where they are made
TEST_CALLS = ("ttest_1samp", "ttest_rel", "ttest_ind", "ttost_mean", "ttost_paired", "DescrStatsW", "multipletests",
              "tconfint_mean", "wilcoxon")


def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def bare_dashes(path: Path) -> list[int]:
    """The lines of ``path`` holding the string "-" on its own (not a piece of an f-string)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pieces = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == "-" and id(n) not in pieces]


def test_the_model_level_marker_is_named_once() -> None:
    found = {p.relative_to(ROOT).as_posix(): lines for p in _sources("iabench", "baselines", "metrics")
             if (lines := bare_dashes(p))}
    assert set(found) == set(NOT_THE_MARKER), "write MODEL_LEVEL (iabench.store), not '-': " + str(
        {k: v for k, v in found.items() if k not in NOT_THE_MARKER})


def test_the_scan_sees_a_bare_dash_but_not_an_f_string_piece(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('a = b == "-"\nc = f"{a}-{b}"\n')
    assert bare_dashes(probe) == [1]


def test_statistical_tests_are_made_in_iabench_stats_alone() -> None:
    outside = [f"{p.relative_to(ROOT)}: {name}" for p in _sources("iabench", "baselines", "metrics", "benchmarks")
               if "stats" not in p.relative_to(ROOT).parts[:2] for name in TEST_CALLS
               if name in p.read_text(encoding="utf-8")]
    assert not outside, "a test computed outside iabench.stats (call its mean_test, paired_effect, holm):\n" + \
        "\n".join(outside)
    assert all(any(name in p.read_text() for p in _sources("iabench/stats")) for name in ("ttest_1samp", "ttost_mean"))


def test_a_registry_imports_its_package_when_first_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "probe_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("from iabench.registry import Registry\nTHINGS = Registry('thing', "
                                         "package=__name__)\n")  # no discover() at import: a lazy registry
    for name in ("alpha", "beta"):
        (package / f"{name}.py").write_text(f"from probe_plugins import THINGS\n\n\n@THINGS.register\nclass "
                                            f"{name.title()}:\n    name = '{name}'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe_plugins

    assert "probe_plugins.alpha" not in sys.modules  # nothing imported until a lookup
    assert probe_plugins.THINGS.names() == ["alpha", "beta"] and "probe_plugins.beta" in sys.modules
    assert probe_plugins.THINGS.get("beta").__name__ == "Beta"
    with pytest.raises(UserError, match="unknown thing 'gamma'"):
        probe_plugins.THINGS.get("gamma")
    assert Registry("plain").names() == []  # no package: nothing to discover


def test_a_plugin_that_fails_to_import_fails_every_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "probe_broken"
    package.mkdir()
    (package / "__init__.py").write_text("from iabench.registry import Registry\nTHINGS = Registry('thing', "
                                         "package=__name__)\n")
    (package / "bad.py").write_text("raise ImportError('bad plugin: missing dependency')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe_broken

    for _ in range(2):  # the second lookup meets the real error again, not an incomplete registry
        with pytest.raises(ImportError, match="bad plugin"):
            probe_broken.THINGS.names()
