"""The explainers, metrics and datasets as tables, built from the registered classes alone (their ``family``,
``signed``/``direction``, ``description``, ``reference``, options and masks): the tables of docs/explainers.md,
docs/metrics.md and docs/datasets.md are this module's output (``iabench list --markdown`` prints them; a test checks
that those pages hold them exactly).

Rows are sorted by family, in the package's ``FAMILIES`` order (a family not listed there comes last),
then by name. A metric's extra per-sample values (``Metric.extras``) get rows of their own, named
``<metric>-<suffix>`` as the runner stores them.
"""

from __future__ import annotations

from iabench.baselines import EXPLAINERS
from iabench.baselines import FAMILIES as EXPLAINER_FAMILIES
from iabench.metrics import FAMILIES as METRIC_FAMILIES
from iabench.metrics import METRICS
from iabench.pipe_table import pipe_table

ARROWS = {"higher": "↑", "lower": "↓"}


def first_line(text: str) -> str:
    """The first line of ``text`` (a reference may continue on further lines), stripped."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def _family_key(family: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(family) if family in order else len(order), family)


def explainer_rows() -> list[dict[str, object]]:
    """One dict per registered explainer: name, family, signed, resolution, description, cost, reference (its first
    line)."""
    rows = []
    for name in EXPLAINERS.names():
        cls = EXPLAINERS.get(name)
        rows.append(dict(name=name, family=cls.family, signed=bool(cls.signed), resolution=cls.resolution,
                         description=cls.description, cost=cls.cost, reference=first_line(cls.reference)))
    return sorted(rows, key=lambda r: (_family_key(str(r["family"]), EXPLAINER_FAMILIES), r["name"]))


def metric_rows() -> list[dict[str, str]]:
    """One dict per registered metric and per extra value: name, family, direction, description, reference."""
    rows = []
    for name in METRICS.names():
        cls = METRICS.get(name)
        reference = first_line(cls.reference)
        rows.append(dict(name=name, family=cls.family, direction=cls.direction, description=cls.description,
                         reference=reference))
        for suffix, (direction, description) in cls.extras.items():
            rows.append(dict(name=f"{name}-{suffix}", family=cls.family, direction=direction,
                             description=description, reference=reference))
    return sorted(rows, key=lambda r: (_family_key(r["family"], METRIC_FAMILIES), r["name"]))


def _cell(text: str) -> str:
    """A table cell: one line, with ``|`` escaped so that it does not end the cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table (no trailing newline), each cell on one line with ``|`` escaped."""
    return pipe_table(header, [[_cell(cell) for cell in row] for row in rows])


def explainer_table() -> str:
    """The explainer table of docs/explainers.md: | name | family | signed | resolution | what it computes |
    passes per image | reference |."""
    rows = [[f"`{r['name']}`", r["family"], "yes" if r["signed"] else "no", r["resolution"], r["description"],
             r["cost"], r["reference"]] for r in explainer_rows()]
    return markdown_table(["name", "family", "signed", "resolution", "what it computes", "passes per image",
                           "reference"], rows)


def metric_table() -> str:
    """The metric table of docs/metrics.md: | name | family | direction | what it measures | reference | (↑ / ↓)."""
    rows = [[f"`{r['name']}`", r["family"], ARROWS.get(r["direction"], r["direction"]), r["description"],
             r["reference"]] for r in metric_rows()]
    return markdown_table(["name", "family", "direction", "what it measures", "reference"], rows)


def dataset_rows() -> list[dict[str, str]]:
    """One row per registered dataset: name, options with their defaults, masks, description."""
    import dataclasses

    from .data import DATASETS, dataset_class

    rows = []
    for name in DATASETS.names():
        cls = dataset_class(name)
        options = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls.Options))
        rows.append(dict(name=name, options=options or "-", masks=", ".join(cls.masks) or "-",
                         description=cls.description))
    return rows


def dataset_table() -> str:
    """The dataset table of docs/datasets.md: | name | options (defaults) | masks | what it is |."""
    rows = [[f"`{r['name']}`", r["options"], r["masks"], r["description"]] for r in dataset_rows()]
    return markdown_table(["name", "options (defaults)", "masks", "what it is"], rows)


def print_catalog(markdown: bool = False) -> None:
    """`iabench list`: suites, presets, explainers, metrics, datasets and model families (``markdown``: the docs'
    three generated tables)."""
    from .models import PRESETS
    from .models.families import families
    from .suites import read_suite_yaml, suite_names

    if markdown:
        print(explainer_table(), metric_table(), dataset_table(), sep="\n\n")
        return
    print("suites:")
    for name in suite_names():
        print(f"  {name:<20} {read_suite_yaml(name)[0].get('description', '')}")
    print("presets:")
    for name, preset in PRESETS.items():
        print(f"  {name:<20} {preset.description}")
    print("explainers:  (name, family, signed or unsigned maps, resolution of the map, what it computes)")
    for row in explainer_rows():
        print(f"  {row['name']:<26} {row['family']:<13} {'signed' if row['signed'] else 'unsigned':<9} "
              f"{row['resolution']:<6} {row['description']}")
    print("metrics:  (name, family, which way is better, what it measures)")
    for row in metric_rows():
        print(f"  {row['name']:<26} {row['family']:<13} {row['direction']:<7} {row['description']}")
    print("datasets:  (name, options with their defaults, masks its items carry, what it is)")
    rows = dataset_rows()
    wide = {key: max(len(r[key]) for r in rows) for key in ("options", "masks")}
    for row in rows:
        print(f"  {row['name']:<26} {row['options']:<{wide['options']}} {row['masks']:<{wide['masks']}} "
              f"{row['description']}")
    print("model families:  (name: the --model form; what it serves; what it refuses)")
    for family in families():
        print(f"  {family.name:<12} {family.form}; serves {family.serves}; refuses {family.refuses}")


__all__ = ["dataset_rows", "dataset_table", "explainer_rows", "explainer_table", "first_line", "markdown_table",
           "metric_rows", "metric_table", "print_catalog"]
