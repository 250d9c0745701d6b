"""A name -> factory registry, in the style of timm's model registry.

Explainers (``iabench.baselines``) and metrics (``iabench.metrics``) each keep one; adding a method is one module
whose class declares its ``name`` once and is decorated with ``@REGISTRY.register`` (the registry takes the name
from the class and checks the class's declarations, as timm takes a model's name from its function). Factories
without a ``name`` (the datasets) register under an explicit name: ``@REGISTRY.register("name")``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a public name to a class or factory; unknown names raise a one-line ``UserError``."""

    def __init__(self, kind: str, check: Callable[[Any], None] | None = None, package: str = "") -> None:
        """``check(cls)`` validates a registered class's declarations (raises on a bad one, at import); ``package``
        holds the modules that register into it, one per entry (see ``discover``)."""
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._check = check
        self.package = package
        self._discovered = not package

    def discover(self) -> None:
        """Import every module of ``package`` once, so that each one's ``@register`` runs. Every lookup calls it
        first: a package that does not call it at import (as ours do) gets a registry that fills when first asked."""
        if self._discovered:
            return
        self._discovered = True  # before the imports: a module that looks an entry up while registering finds it
        try:
            for info in pkgutil.iter_modules(importlib.import_module(self.package).__path__):
                importlib.import_module(f"{self.package}.{info.name}")
        except BaseException:
            self._discovered = False  # the next lookup tries again and meets the same error, not a missing name
            raise

    def register(self, target: Any) -> Any:
        """``@register`` on a class with a ``name``, or ``@register("name")`` on any factory."""
        if isinstance(target, str):
            return lambda factory: self._add(target, factory)
        name = getattr(target, "name", "")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} {target!r} declares no name")
        if self._check is not None:
            self._check(target)
        return self._add(name, target)

    def _add(self, name: str, factory: Any) -> Any:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = factory
        return factory

    def get(self, name: str) -> Callable[..., T]:
        self.discover()
        try:
            return self._entries[name]
        except KeyError:
            raise unknown(self.kind, name, self._entries) from None

    def create(self, name: str, **kwargs: object) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)
