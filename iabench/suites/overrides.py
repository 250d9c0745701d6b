"""The command line's changes to a suite, parsed once: each ``--set KEY=VALUE`` (the value read as YAML) and each
flag that sets a suite key (``--samples``, ``--seed``, ``--data-root``, ``--pretrained``) as a typed value, with
no text round trip."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..config import parse_override
from ..errors import UserError, unknown
from .methods import SHORT_ITEM

SECTIONS = ("data", "model", "train", "verdict")


@dataclass(frozen=True)
class Override:
    keys: tuple[str, ...]
    value: Any
    text: str  # as written (or the flag's equivalent), for messages


@dataclass(frozen=True)
class Overrides:
    items: tuple[Override, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str] | Overrides | None) -> Overrides:
        """``--set`` texts, each parsed once (an ``Overrides`` is returned as it is)."""
        if isinstance(texts, Overrides):
            return texts
        items = []
        for text in texts or []:
            keys, value = parse_override(text)
            items.append(Override(tuple(keys), value, text))
        return cls(tuple(items))

    def then(self, later: Overrides) -> Overrides:
        """These overrides followed by ``later`` (last wins)."""
        return Overrides((*self.items, *later.items))

    def plus(self, key: str, value: Any) -> Overrides:
        """These overrides and one more from a flag (``"samples"``, ``"data.root"``), last wins."""
        return Overrides((*self.items, Override(tuple(key.split(".")), value, f"{key}={value}")))

    def apply(self, raw: dict[str, Any], suite_keys: list[str]) -> dict[str, Any]:
        """The raw suite mapping with every override applied (before validation)."""
        raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
        for item in self.items:
            keys, value = item.keys, item.value
            if keys[0] not in suite_keys:
                raise unknown("suite key", keys[0], suite_keys)
            if keys[0] in ("explainers", "metrics") and isinstance(value, str):
                # --set metrics=deletion[blur],insertion (YAML reads brackets inside a list as flow syntax)
                value = SHORT_ITEM.findall(value)
            if len(keys) == 1:
                raw[keys[0]] = value
            elif len(keys) == 2 and keys[0] in SECTIONS:
                raw[keys[0]] = {**(raw.get(keys[0]) or {}), keys[1]: value}
            else:
                raise UserError(f"--set {item.text}: use KEY=VALUE or data.KEY / model.KEY / train.KEY / "
                                "verdict.KEY=VALUE")
        return raw

    def late(self) -> dict[str, Any]:
        """The overrides that apply after each model variant's own: model.*, train.* and seeds."""
        late: dict[str, Any] = {}
        for item in self.items:
            if len(item.keys) == 2 and item.keys[0] in ("model", "train"):
                late.setdefault(item.keys[0], {})[item.keys[1]] = item.value
            elif item.keys == ("seeds",):
                late["seeds"] = item.value
        return late

    def value(self, key: str) -> Any:
        """The last value given for ``key`` (``"model.num_heads"``), or None when none was."""
        found = [item.value for item in self.items if item.keys == tuple(key.split("."))]
        return found[-1] if found else None

    def texts_under(self, section: str) -> list[str]:
        """The overrides of one section (``"model"``), as written."""
        return [item.text for item in self.items if len(item.keys) == 2 and item.keys[0] == section]

    def without(self, key: str) -> Overrides:
        """These overrides less those of ``key`` (one a given model takes, not the suite)."""
        return Overrides(tuple(item for item in self.items if item.keys != tuple(key.split("."))))
