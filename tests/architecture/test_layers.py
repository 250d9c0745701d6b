"""A one-way house: every module's imports, inside functions too, go to its own floor or a lower one; the explainers
and the metrics never import each other; the report never reaches the code that computed the run; no import loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# bottom -> top; a module may import its own floor or a lower one (setup.cfg maps baselines/ and metrics/ into
# the package as iabench.baselines and iabench.metrics)
FLOORS = [
    ("base", ["iabench.errors", "iabench.seeding", "iabench.registry", "iabench.device", "iabench.store",
              "iabench.runlog", "iabench.pipe_table", "iabench.modes", "iabench.ranges", "iabench.cache_home"]),
    ("statistics", ["iabench.stats"]),  # below the pipeline and the report, which both test with it
    ("config", ["iabench.typed", "iabench.config", "iabench.records", "iabench.targets"]),
    ("shared by the plugins", ["iabench.substrates", "iabench.contract"]),  # datasets are plugins too
    ("data and models", ["iabench.data", "iabench.models"]),
    ("plugins", ["iabench.baselines", "iabench.metrics"]),
    ("training", ["iabench.training"]),
    ("pipeline", ["iabench.suites", "iabench.pipeline"]),
    # the report, bottom -> top: what serves every part of it, figures, planted evidence, the verdict, the page,
    # then build_report (the package's __init__) that calls them all
    ("reporting: shared", ["iabench.reporting.run_files", "iabench.reporting.markdown", "iabench.reporting.protocols",
                           "iabench.reporting.stability", "iabench.reporting.summary"]),
    ("reporting: figures", ["iabench.reporting.figures"]),
    ("reporting: ground truth", ["iabench.reporting.ground_truth"]),
    ("reporting: verdict", ["iabench.reporting.verdict"]),
    ("reporting: page", ["iabench.reporting.page"]),
    ("reporting", ["iabench.reporting"]),
    ("command line", ["iabench.runner", "iabench.api", "iabench.catalog", "iabench.refresh", "iabench.gpucheck",
                      "iabench.commands", "iabench.listing",
                      "iabench.cli", "iabench.__main__", "iabench"]),
]
APART = ("iabench.baselines", "iabench.metrics")
REPORT_NEVER = ("iabench.baselines", "iabench.metrics", "iabench.pipeline", "iabench.suites", "iabench.training",
                "iabench.models", "iabench.data")


def module_files() -> dict[str, Path]:
    """Module name -> file, for every module of the package as installed."""
    found = {}
    for folder, package in ((ROOT / "iabench", "iabench"), (ROOT / "baselines", "iabench.baselines"),
                            (ROOT / "metrics", "iabench.metrics")):
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package modules ``name`` imports anywhere in its file (functions included), relative imports resolved;
    ``from pkg import x`` is ``pkg.x`` when that is a module. An import of a module inside the importer's own package
    does not count the package's ``__init__`` (Python runs it first, but it is the package importing its parts)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target in modules and target != name:
                found.add(target)
            if not target.startswith(package + ".") and target != package:  # the parents it runs, outside its own
                parts = target.split(".")
                found.update(p for p in (".".join(parts[:i]) for i in range(2, len(parts))) if p in modules
                             and not name.startswith(p + ".") and p != name)
    return found


def floor_of(name: str) -> int:
    matches = [(len(prefix), level) for level, (_, prefixes) in enumerate(FLOORS) for prefix in prefixes
               if name == prefix or name.startswith(prefix + ".")]
    assert matches, f"{name} is on no floor: add it to FLOORS"
    return max(matches)[1]


def graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports(name, path, set(files)) for name, path in files.items()}


def test_every_import_goes_down_or_stays_on_its_floor() -> None:
    edges = graph()
    upward = [f"{a} ({FLOORS[floor_of(a)][0]}) -> {b} ({FLOORS[floor_of(b)][0]})" for a, targets in edges.items()
              for b in targets if floor_of(b) > floor_of(a)]
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))
    between = [f"{a} -> {b}" for a, targets in edges.items() for b in targets
               if any(a.startswith(x) for x in APART) and any(b.startswith(y) for y in APART)
               and a.split(".")[1] != b.split(".")[1]]
    assert not between, "the explainers and the metrics import each other:\n" + "\n".join(between)


def test_no_metric_imports_another_metric() -> None:
    """A metric plugin (a public module of metrics/) imports the package's shared, private modules (``_base``,
    ``_checks``, ...) but never another plugin: adding or removing a metric is one file."""
    edges = graph()
    plugin = lambda name: name.startswith("iabench.metrics.") and not name.split(".")[2].startswith("_")  # noqa: E731
    between = [f"{a} -> {b}" for a, targets in edges.items() if plugin(a) for b in targets if plugin(b) and b != a]
    assert not between, "metrics importing other metrics:\n" + "\n".join(sorted(between))


def test_there_is_no_import_loop() -> None:
    edges, loops = graph(), []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                loops.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not loops, "import loops:\n" + "\n".join(loops)


def test_the_report_never_reaches_the_code_that_computed_the_run() -> None:
    edges, seen, todo = graph(), set(), [n for n in graph() if n.startswith("iabench.reporting")]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    reached = sorted(n for n in seen if n.startswith(REPORT_NEVER))
    assert not reached, f"iabench.reporting reaches {reached}"
    loaded = subprocess.run([sys.executable, "-c", "import sys, iabench.reporting; print(sorted(m for m in "
                             f"sys.modules if m.startswith({REPORT_NEVER!r})))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", loaded


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from ..metrics import METRICS\n    import iabench.baselines._vit\n")
    assert imports("iabench.reporting.probe", path, {"iabench.metrics", "iabench.baselines", "iabench.baselines._vit",
                                                     "iabench.reporting.probe"}) == {
        "iabench.metrics", "iabench.baselines", "iabench.baselines._vit"}


def test_every_package_is_installed() -> None:
    """setup.cfg lists packages one by one: a package missing there works in this checkout and not once installed."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    packages = {name for name, path in module_files().items() if path.name == "__init__.py"}
    assert packages == listed


def test_each_package_of_the_report_and_of_the_statistics_says_in_one_line_what_it_holds() -> None:
    for package in ("stats", "reporting/figures", "reporting/ground_truth", "reporting/page", "reporting/verdict"):
        doc = ast.get_docstring(ast.parse((ROOT / "iabench" / package / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 1, package
