"""Durations read from ``HELPERS_*`` environment variables, with one error for a bad value (ground floor: imports
nothing of the package)."""
from __future__ import annotations

import os
from typing import overload


@overload
def env_seconds(name: str, default: float) -> float: ...
@overload
def env_seconds(name: str, default: None) -> float | None: ...


def env_seconds(name: str, default: float | None) -> float | None:
    """``float(os.environ[name])``, or ``default`` where ``name`` is unset.

    Raises:
        ValueError: naming the variable and its value, when it is not a number or is negative.
    """
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return seconds
