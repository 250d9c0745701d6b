"""A suite's ``data:`` section -> ``DataConfig``: the common keys typed by ``DataConfig``, every other key an option
of the named dataset, validated by its plugin's ``Options`` (one ``UserError`` line for an unknown key or a bad
value, naming the closest valid key of either kind) and kept parsed in ``DataConfig.options``."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..config import DataConfig, from_dict, options_dict
from ..errors import UserError, closest
from . import dataset_class


def common_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(DataConfig) if f.name != "options"]


def data_config(raw: dict[str, Any] | None, base: DataConfig | None = None, where: str = "data") -> DataConfig:
    """The validated ``DataConfig`` of a ``data:`` mapping over ``base`` (a preset's); ``base``'s options carry over
    only while the dataset stays the same."""
    base = base or DataConfig()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"{where} must be a mapping of keys to values, got {raw!r}")
    common = {k: v for k, v in raw.items() if k in common_keys()}
    given = {k: v for k, v in raw.items() if k not in common and k != "options"}
    nested = raw.get("options") or {}
    if not isinstance(nested, dict):
        raise UserError(f"{where}.options must be a mapping of the dataset's options, got {nested!r}")
    config = from_dict(DataConfig, common, where, dataclasses.replace(base, options={}))
    cls = dataset_class(config.name)
    names = [f.name for f in dataclasses.fields(cls.Options)]
    for key in given:
        if key not in names:
            valid = common_keys() + names
            hint = closest(str(key), valid).replace("'", f"'{where}.", 1)
            listed = f"; {config.name} takes {', '.join(names)}" if names else f"; {config.name} takes no options"
            raise UserError(f"unknown key '{where}.{key}'{hint}{listed}; common keys: {', '.join(common_keys())}")
    kept = options_dict(base.options) if config.name == base.name else {}
    values = {k: v for k, v in {**kept, **nested, **given}.items() if k in names or k in nested}
    return dataclasses.replace(config, options=cls.Options.parse(values, f"dataset {config.name}"))
