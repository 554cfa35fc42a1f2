"""Shared helpers for the UI tests."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from comfytui.ui.app import ComfyTUIApp
from tests.ui.fixtures import T0, build_state


def use_utc() -> None:
    """Wall-clock columns render in UTC so snapshots match on every machine."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def fixed_app() -> ComfyTUIApp:
    """The dashboard over the fixed state: no network, no clock."""
    return ComfyTUIApp("http://127.0.0.1:8188", state=build_state(), clock=lambda: T0)


async def until(
    pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 10.0, why: Callable[[], object] | None = None
) -> None:
    """Pause until `cond()` holds (workers are not awaited by `pilot.pause`); `why()` explains a timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s" + (f": {why()}" if why else ""))
        await pilot.pause(0.05)
        await asyncio.sleep(0)
