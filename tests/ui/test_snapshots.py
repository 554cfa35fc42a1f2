"""SVG snapshots of every pane and screen in a fixed, constructed state (no clock, no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from comfytui.ui.widgets.image import ImageView
from tests.ui.helpers import fixed_app, until, use_utc

use_utc()

SnapCompare = Callable[..., bool]


async def preview_drawn(pilot: Pilot[Any]) -> None:
    await until(pilot, lambda: pilot.app.query_one("#preview", ImageView).frames_drawn > 0)
    await pilot.pause()


def test_dashboard_wide(snap_compare: SnapCompare) -> None:
    assert snap_compare(fixed_app(), terminal_size=(160, 48), run_before=preview_drawn)


def test_dashboard_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=preview_drawn)


def test_dashboard_light_theme(snap_compare: SnapCompare) -> None:
    async def light(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+t")
        await preview_drawn(pilot)

    assert snap_compare(fixed_app(), terminal_size=(160, 48), run_before=light)


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5"])
def test_each_pane_zoomed(snap_compare: SnapCompare, key: str) -> None:
    async def zoom(pilot: Pilot[Any]) -> None:
        await pilot.press(key, "z")
        if key == "3":
            await until(pilot, lambda: pilot.app.query_one("#preview", ImageView).frames_drawn > 1)
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(100, 30), run_before=zoom)


def test_help_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(fixed_app(), press=["question_mark"], terminal_size=(100, 40))


def test_clear_confirmation(snap_compare: SnapCompare) -> None:
    assert snap_compare(fixed_app(), press=["C"], terminal_size=(100, 30))


def test_history_filter(snap_compare: SnapCompare) -> None:
    assert snap_compare(fixed_app(), press=["4", "slash", *"fail"], terminal_size=(160, 48), run_before=preview_drawn)


def test_detail_failed(snap_compare: SnapCompare) -> None:
    async def open_failed(pilot: Pilot[Any]) -> None:
        await pilot.press("4", "down", "enter")
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(120, 36), run_before=open_failed)


def test_log_in_narrow_layout(snap_compare: SnapCompare) -> None:
    """At 80 columns the log is hidden; `5` shows it zoomed and `z` goes back."""
    assert snap_compare(fixed_app(), press=["5"], terminal_size=(80, 24))
