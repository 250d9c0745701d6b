"""Markdown in, HTML out: pipe tables for report.md, and markdown-it-py to render the same text in report.html.

The pages' prose (verdict, trust lines, how-to-read lines) is written once, in markdown; report.html renders
it with markdown-it-py (CommonMark + tables, raw HTML off, so a label can never inject markup) and embeds the
images it links to, so that the page opens offline, alone.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from ..pipe_table import pipe_table

EMPTY = "n/a"  # what a table cell says instead of being empty


def markdown_table(frame: pd.DataFrame, bold: pd.DataFrame | None = None) -> str:
    """``frame`` (its index as leading columns) as a GitHub pipe table; empty cells say n/a."""
    index_names = [n or "" for n in frame.index.names] if frame.index.nlevels > 1 or frame.index.name else []
    header = [str(h) or " " for h in index_names + list(frame.columns)]
    rows = []
    for i, (key, row) in enumerate(frame.iterrows()):
        keys = list(key) if isinstance(key, tuple) else ([key] if index_names else [])
        cells = []
        for j, value in enumerate(row):
            cell = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
            cell = cell.replace("|", "\\|") or EMPTY
            cells.append(f"**{cell}**" if bold is not None and bold.iat[i, j] else cell)
        rows.append([str(k) for k in keys] + cells)
    return pipe_table(header, rows)


def data_uri(path: Path) -> str:
    """A PNG as a data: URI (report.html opens offline, alone)."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def renderer(run_dir: Path) -> MarkdownIt:
    """markdown-it-py for report.html: images linked relative to ``run_dir`` are embedded as data URIs."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def image(self, tokens, idx, options, env):  # noqa: ANN001, ANN202 (markdown-it's render-rule signature)
        source = tokens[idx].attrGet("src") or ""
        if source and ":" not in source and (Path(run_dir) / source).is_file():
            tokens[idx].attrSet("src", data_uri(Path(run_dir) / source))
        return self.image(tokens, idx, options, env)

    md.add_render_rule("image", image)
    return md
