"""A suite's explainers and metrics: registry name, label, options and (metrics) the images and explainers scored.

Short forms, each labelled as written:
- a metric ``NAME[WORD,...]``: each word a substrate (``deletion[blur]``), a unit (``deletion[patch]``) or both
  (``deletion[blur,patch]``), i.e. options {substrate, unit};
- an explainer ``NAME:ARG`` for explainers that take one (``shuffled:ia-vit`` = shuffled with {of: ia-vit}).
The mapping form ``{name, label, options}`` takes anything; a metric's mapping may also limit what it scores:
``samples: N`` (the first N of the run's images, e.g. for the slow ROAD substrate) and ``explainers: [labels]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..baselines import EXPLAINERS
from ..errors import UserError, unknown
from ..metrics import METRICS
from ..substrates import SUBSTRATES

UNITS = ("pixel", "patch")
SHORT_BRACKETS = re.compile(r"([\w-]+)\[([\w,-]+)\]")
SHORT_ARGUMENT = re.compile(r"([\w-]+):([\w\[\]-]+)")
# one item of a comma-separated --set list: a name with an optional [..] (commas inside) or :ARG
SHORT_ITEM = re.compile(r"[\w.:-]+(?:\[[\w,-]+\])?")


@dataclass(frozen=True)
class MethodSpec:
    """One explainer or metric of a suite: registry name, the label it gets in tables, options; for a metric
    optionally the number of images (the first ``samples`` of the run's) and the explainer labels it scores."""

    name: str
    label: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    samples: int | None = None
    explainers: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.label:  # frozen: the one write of the label, when the spec is made
            object.__setattr__(self, "label", self.name)

    def scores(self, explainer: str | None) -> bool:
        """Whether this metric scores the maps of ``explainer`` (None: a model-level metric always applies)."""
        return explainer is None or self.explainers is None or explainer in self.explainers


def bracket_options(name: str, words: str) -> dict[str, str]:
    """{substrate, unit} from the words of ``NAME[w1,w2]``; an unknown or repeated kind of word is one line."""
    options: dict[str, str] = {}
    for word in words.split(","):
        key = "unit" if word in UNITS else "substrate" if word in SUBSTRATES else None
        if key is None:
            raise unknown(f"word in {name}[{words}] (a substrate or a unit)", word, [*SUBSTRATES, *UNITS])
        if key in options:
            raise UserError(f"{name}[{words}] names two {key}s ({options[key]}, {word}); give one")
        options[key] = word
    return options


def _short(item: str, kind: str) -> MethodSpec:
    if kind == "metric" and (short := SHORT_BRACKETS.fullmatch(item)):
        return MethodSpec(short[1], item, bracket_options(short[1], short[2]))
    if kind == "explainer" and (short := SHORT_ARGUMENT.fullmatch(item)):
        option = EXPLAINERS.get(short[1]).argument_option
        if option is None:
            raise UserError(f"explainer {short[1]} takes no ':' argument; write {short[1]} alone or use the "
                            "mapping form {name, options}")
        return MethodSpec(short[1], item, {option: short[2]})
    return MethodSpec(item)


def _scope(item: dict, kind: str) -> dict[str, Any]:
    """A metric mapping's ``samples`` and ``explainers``, checked."""
    scope: dict[str, Any] = {}
    if "samples" in item:
        samples = item["samples"]
        if kind != "metric" or isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise UserError(f"{kind} '{item['name']}': samples must be a whole number >= 1 (metrics only), "
                            f"got {samples!r}")
        scope["samples"] = samples
    if "explainers" in item:
        labels = item["explainers"]
        if kind != "metric" or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise UserError(f"{kind} '{item['name']}': explainers must be a list of explainer labels (metrics only)")
        scope["explainers"] = list(labels)
    return scope


def method_specs(items: Any, kind: str, valid: list[str]) -> list[MethodSpec]:
    """A suite's ``explainers`` or ``metrics`` list as MethodSpecs, validated (unknown name, shared label)."""
    if not isinstance(items, list):
        raise UserError(f"'{kind}s' must be a list of names or {{name, label, options}} mappings")
    keys = {"name", "label", "options"} | ({"samples", "explainers"} if kind == "metric" else set())
    specs = []
    for item in items:
        if isinstance(item, str):
            spec = _short(item, kind)
        elif isinstance(item, dict):
            extra = set(item) - keys
            if extra or "name" not in item:
                raise UserError(f"a {kind} entry takes keys {', '.join(sorted(keys))}; got {sorted(item)}")
            if not isinstance(item.get("options", {}), dict):
                raise UserError(f"{kind} '{item['name']}': options must be a mapping")
            spec = MethodSpec(str(item["name"]), str(item.get("label", "")), dict(item.get("options") or {}),
                              **_scope(item, kind))
        else:
            raise UserError(f"a {kind} entry must be a name or a mapping, got {item!r}")
        if spec.name not in valid:
            raise unknown(kind, spec.name, valid)
        specs.append(spec)
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise UserError(f"two {kind}s share a label in {labels}; give each a distinct 'label'")
    return specs


def check_scopes(metrics: list[MethodSpec], explainers: list[MethodSpec], variants: list | None = None) -> None:
    """A metric's ``explainers`` and a model variant's must name explainer labels of the suite."""
    labels = [spec.label for spec in explainers]
    scopes = [(f"metric {spec.label}'s explainers", spec.explainers) for spec in metrics]
    scopes += [(f"models.{variant.name}.explainers", variant.explainers) for variant in variants or []]
    for where, listed in scopes:
        for label in listed or []:
            if label not in labels:
                raise unknown(f"explainer in {where}", label, labels)


def check_options(explainers: list[MethodSpec], metrics: list[MethodSpec]) -> None:
    """Every explainer's and metric's options, and the explainer a metric compares with (its ``reference_spec``),
    by the typed options of each class: a bad one is one line when the suite is read, before any work."""
    for spec in explainers:
        EXPLAINERS.get(spec.name).resolved(spec.options).parse_options(spec.options)
    for spec in metrics:
        metric = METRICS.create(spec.name, **spec.options)
        reference = getattr(metric, "reference_spec", None)
        if reference is not None:
            EXPLAINERS.get(reference[0]).parse_options(reference[1])
