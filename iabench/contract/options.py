"""Typed options: each explainer and metric declares a frozen dataclass of its options, with typed, documented
defaults, validated by the code that validates the configs (``iabench.typed.from_dict``): an unknown option names
the closest one, a wrong type or a value out of range is one line, before any work."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from ..errors import OptionError
from ..typed import Where, from_dict

OptionsT = TypeVar("OptionsT", bound="Options")
_MISSING: Any = dataclasses.MISSING


def option(default: Any = _MISSING, doc: str = "", bounds: tuple[Any, Any, bool, bool] | None = None, *,
           factory: Any = _MISSING) -> Any:
    """A documented option field: ``doc`` says what it does, ``bounds`` its range (``iabench.ranges`` style)."""
    return dataclasses.field(default=default, default_factory=factory, metadata={"doc": doc, "range": bounds})


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of every options dataclass (subclasses are frozen dataclasses whose every field has a default).
    ``HASH_NEUTRAL``: options added after cache keys were first written, left out of a key while they hold these
    values, so that adding an option does not change every cached model's key."""

    HASH_NEUTRAL: ClassVar[dict[str, Any]] = {}

    @classmethod
    def parse(cls: type[OptionsT], values: Mapping[str, Any] | None, owner: str) -> OptionsT:
        """Validated options from a mapping; ``owner`` names the plugin in messages ("explainer rollout")."""
        return from_dict(cls, dict(values or {}), Where(owner, "option", OptionError))

    def given(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        fields = dataclasses.fields(self)
        defaults = {f.name: f.default if f.default is not _MISSING else f.default_factory() for f in fields}
        return {f.name: getattr(self, f.name) for f in fields if getattr(self, f.name) != defaults[f.name]}


@dataclasses.dataclass(frozen=True)
class NoOptions(Options):
    """The options of a plugin that takes none."""


def options_class_problems(options: object) -> list[str]:
    """What the registries say of a plugin's ``Options`` that is not a frozen dataclass subclassing ``Options``."""
    if isinstance(options, type) and issubclass(options, Options):
        if options.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return []
    return ["its Options must be a frozen dataclass subclassing iabench.contract.Options"]
