"""The one error type that reaches the user as a single line and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input from the user: printed as one line (what was wrong, how to fix it), exit code 2."""


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint naming the closest valid choice, or '' when nothing is close."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.4)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> UserError:
    """The error for an unknown name of some kind, with the closest choice and the full list."""
    choices = sorted(choices)
    return UserError(f"unknown {kind} '{name}'{closest(name, choices)}; choose from: {', '.join(choices)}")


class OptionError(UserError, ValueError):
    """A bad option of an explainer or metric: one line for the command line, a ValueError for API callers."""
