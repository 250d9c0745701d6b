"""A GitHub pipe table from cells already written as text: the one writer behind the docs' generated tables
(``iabench.catalog``) and the report's (``iabench.reporting.markdown``). By hand: DataFrame.to_markdown needs
tabulate, which is not a dependency. No heavy imports: ``iabench list`` uses it."""

from __future__ import annotations

from collections.abc import Sequence


def pipe_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``header`` and ``rows`` as a pipe table (no trailing newline); cells are written as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
