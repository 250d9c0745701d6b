"""Typed validation of plain mappings (a suite's YAML, --set, a plugin's options) into dataclasses: one code for
the configs (``iabench.config``) and for the options of every explainer and metric (``iabench.contract``).

An unknown key names the closest valid one; a value of the wrong type, outside a ``Literal`` or outside its range
(``iabench.ranges.RANGES`` for the configs, a field's ``metadata["range"]`` for options) is one ``UserError`` line
naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, TypeVar

from .errors import UserError, closest
from .ranges import check_ranges, describe, inside

C = TypeVar("C")
YAML11_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


@dataclasses.dataclass(frozen=True)
class Where:
    """How messages name a value: ``data.img_size`` (a config key) or ``metric deletion: option step``."""

    prefix: str
    noun: str = "key"  # "key" (configs) or "option" (a plugin's options)
    error: type[UserError] = UserError

    def of(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.noun == "key" else f"{self.prefix}: option {key}"


def check_type(value: Any, annotation: Any, name: str, error: type[UserError] = UserError) -> Any:
    """Check (and gently coerce int -> float) one value against a field annotation; ``name`` is how a message
    names the value."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return check_type(value, arg, name, error)
            except UserError as err:
                errors.append(err)
        raise errors[0]
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            hint = closest(str(value), [str(c) for c in choices])
            raise error(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}{hint}")
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            raise error(f"{name} must be a list, got {value!r}")
        (item,) = typing.get_args(annotation)
        return [check_type(v, item, name, error) for v in value]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise error(f"{name} must be a mapping, got {value!r}")
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str) and YAML11_EXPONENT.match(value):
        return float(value)  # YAML 1.1 reads 2e-3 (no dot) as a string; 2.0e-3 it reads as a float
    if annotation is bool and not isinstance(value, bool):
        raise error(f"{name} must be true or false, got {value!r}")
    if annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise error(f"{name} must be an integer, got {value!r}")
    if annotation in (float, str) and not isinstance(value, annotation):
        raise error(f"{name} must be a {annotation.__name__}, got {value!r}")
    return value


def _check_field_ranges(config: Any, where: Where) -> None:
    """The ranges a dataclass declares on its fields (``metadata["range"]``)."""
    for f in dataclasses.fields(config):
        bounds = f.metadata.get("range")
        value = getattr(config, f.name)
        if bounds is not None and value is not None and not isinstance(value, bool) and not inside(float(value),
                                                                                                   bounds):
            raise where.error(f"{where.of(f.name)} = {value!r} is out of range; it must be {describe(bounds)}")


def from_dict(cls: type[C], values: dict[str, Any] | None, where: str | Where, base: C | None = None) -> C:
    """Build a dataclass from a mapping, starting from ``base`` (default: the class's defaults); unknown keys, wrong
    types and values out of range raise a one-line ``UserError`` (``where.error``) naming the closest valid key."""
    where = where if isinstance(where, Where) else Where(where)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise where.error(f"{where.prefix} must be a mapping of {where.noun}s to values, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    checked = {}
    for key, value in values.items():
        if key not in names:
            if where.noun == "key":
                hint = closest(str(key), names).replace("'", f"'{where.prefix}.", 1)
                raise where.error(f"unknown key '{where.prefix}.{key}'{hint}; valid keys: {', '.join(names)}")
            listed = f"valid options: {', '.join(names)}" if names else "it takes no options"
            raise where.error(f"{where.prefix}: unknown option '{key}'{closest(str(key), names)}; {listed}")
        checked[key] = check_type(value, hints[key], where.of(str(key)), where.error)
    start = base if base is not None else cls()
    config = dataclasses.replace(start, **checked)  # type: ignore[type-var]
    check_ranges(config, where.prefix)
    _check_field_ranges(config, where)
    return config

