"""Lenient readers for server JSON: odd values become defaults, never exceptions."""

from __future__ import annotations

from typing import Any


def as_int(value: Any, default: int = 0) -> int:
    """``int(value)``, or ``default`` when it is not a number (None, text, inf, …)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def opt_str(value: Any) -> str | None:
    """``str(value)``, keeping None as None."""
    return None if value is None else str(value)
