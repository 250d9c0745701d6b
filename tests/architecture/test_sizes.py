"""The size rule of the codebase: no module over 200 lines, no class over 100, no function over 50, in iabench/,
baselines/ and metrics/ (a larger piece is split where it has parts of its own)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {"module": 200, "class": 100, "function": 50}


def oversized(path: Path, root: Path = ROOT) -> list[str]:
    source, name = path.read_text(encoding="utf-8"), path.relative_to(root)
    lines = source.count("\n")
    found = [f"{name}: {lines} lines"] if lines > LIMITS["module"] else []
    for node in ast.walk(ast.parse(source)):
        kind = "class" if isinstance(node, ast.ClassDef) else "function" if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        if kind is None:
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        size = node.end_lineno - start + 1
        if size > LIMITS[kind]:
            found.append(f"{name}:{node.lineno} {kind} {node.name}: {size} lines")
    return found


def test_modules_classes_and_functions_keep_to_their_sizes() -> None:
    paths = [p for folder in ("iabench", "baselines", "metrics") for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(paths) > 100
    too_big = [line for path in paths for line in oversized(path)]
    assert not too_big, "over the size rule (module 200, class 100, function 50 lines):\n" + "\n".join(too_big)


def test_the_rule_counts_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_text("def f():\n" + "    x = 1\n" * 50 + "\n" * 150)
    assert oversized(path, tmp_path) == ["big.py: 201 lines", "big.py:1 function f: 51 lines"]
    path.write_text("def f():\n" + "    x = 1\n" * 49 + "\n" * 150)
    assert oversized(path, tmp_path) == []


def too_many_arguments(path: Path, root: Path = ROOT, limit: int = 7) -> list[str]:
    """The functions of ``path`` taking more than ``limit`` arguments (``self`` and ``cls`` not counted)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
            count = len([n for n in names if n not in ("self", "cls")])
            if count > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {count} arguments")
    return found


def test_no_function_of_the_report_takes_more_than_seven_arguments() -> None:
    too_many = [line for path in sorted((ROOT / "iabench" / "reporting").rglob("*.py"))
                for line in too_many_arguments(path)]
    assert not too_many, "pass the run (RunFiles) or a typed bundle instead:\n" + "\n".join(too_many)


def test_the_argument_count_is_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "wide.py"
    path.write_text("def f(a, b, c, d, e, f, g, *, h):\n    pass\n\n\nclass C:\n    def m(self, a, b, c, d, e, f, g):\n"
                    "        pass\n")
    assert too_many_arguments(path, tmp_path) == ["wide.py:1 f: 8 arguments"]
