"""Pilot tests over the fixed state (no server): keys, palette, filter, detail, confirmation, helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.text import Text
from textual.command import CommandPalette

from comfytui.ui import fmt
from comfytui.ui.app import ComfyTUIApp
from comfytui.ui.screens.confirm import ConfirmScreen
from comfytui.ui.screens.detail import DetailScreen
from comfytui.ui.screens.help import HelpScreen
from comfytui.ui.widgets.graph import GraphView
from comfytui.ui.widgets.history import HistoryPane
from comfytui.ui.widgets.log import LogPane
from comfytui.ui.widgets.table import KeyedTable
from comfytui.ui.widgets.vtable import Column, VirtualTable
from tests.ui.fixtures import pid
from tests.ui.helpers import fixed_app, until, use_utc

use_utc()
WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "tiny_txt2img.json"


async def test_panes_show_the_state() -> None:
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        queue = app.query_one("#queue-table", KeyedTable)
        assert queue.keys == [pid(5), pid(6), pid(7), pid(8)]
        assert "▶" in queue.text(pid(5)) and "me" in queue.text(pid(5))
        assert "other" in queue.text(pid(6))
        graph = app.query_one(GraphView)
        assert "KSampler" in graph.text("5") and "5/8" in graph.text("5")
        assert "cached" in graph.text("1")
        history = app.query_one("#history-table", VirtualTable)
        assert history.keys == [pid(4), pid(3), pid(2), pid(1)]
        assert "interrupted" in history.text(pid(4)) and "failed" in history.text(pid(3))
        assert app.query_one(LogPane).lines_written == 5
        header = str(app.header.render())
        for part in ("connected", "ComfyUI 0.3.75", "RTX 4090", "VRAM 7.0G/24.0G", "RAM 7.0G/16.0G", "queue 4"):
            assert part in header


async def test_keys_focus_filter_detail_help() -> None:
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4")
        history = app.query_one("#history-table", VirtualTable)
        assert app.focused is history
        await pilot.press("slash", *"fail")
        await pilot.pause()
        assert history.keys == [pid(3)]
        await pilot.press("enter", "enter")  # leave the filter input, then open the row
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert "OutOfMemoryError" in str(app.screen.query_one("#detail-error").render())
        await pilot.press("escape")  # back from the detail screen
        await pilot.press("slash", "escape")  # focus the filter, Esc clears and hides it
        await pilot.pause()
        assert len(history.keys) == 4
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_clear_asks_first_and_read_only_view_warns() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1", "C")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert len(app.state.pending) == 3


async def test_palette_runs_app_actions() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"interrupt the running")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await pilot.pause()
        # the fixed state has no session: the action says so instead of failing
        assert any("Not connected" in str(n.message) for n in app._notifications)


def test_log_lines_follow_a_tty() -> None:
    pane = LogPane()
    assert pane.split_lines("a\n\r 1%|\r 2%|") == ["a"]
    assert pane.split_lines("\r100%|\nnext\n") == ["100%|", "next"]


def test_fmt_helpers() -> None:
    assert fmt.duration(0.314) == "0.31s" and fmt.duration(75) == "1m15s" and fmt.duration(None) == "-"
    assert fmt.age(100, 160) == "1m" and fmt.human_bytes(1536) == "1.5K"
    assert fmt.bar(1, 2, 4) == "██  "
    prompt = json.loads(WORKFLOW.read_text())
    inputs = fmt.prompt_inputs(prompt)
    assert inputs["seed"] == "42" and inputs["steps"] == "8" and inputs["size"] == "64×64"
    assert fmt.node_depths(prompt)["7"] == 4 and fmt.upstream(prompt, "6") == ["5", "1"]


async def test_keyed_table_keeps_order_and_selection() -> None:
    app = ComfyTUIApp("http://x", state=fixed_app().state)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one("#queue-table", KeyedTable)
        table.sync([("a", ("", "1", "a", Text("A"), "me", "1s")), ("b", ("", "2", "b", Text("B"), "me", "1s"))])
        table.move_cursor(row=1)
        table.sync([("b", ("", "2", "b", Text("B"), "me", "2s")), ("a", ("", "1", "a", Text("A"), "me", "2s"))])
        await pilot.pause()
        assert table.keys == ["b", "a"] and table.selected_key == "b"
        assert "2s" in table.text("a")


def test_virtual_table_drops_columns_when_narrow() -> None:
    cols = [Column("s", "s", 13, min_width=2), Column("t", "t", None), Column("x", "x", 8, min_width=0)]
    table = VirtualTable(cols, lambda key: ("", "", ""))
    assert table._widths(120) == [13, 120 - 13 - 8 - 6 - 1, 8]
    narrow = table._widths(30)
    assert narrow[2] == 0 and narrow[1] >= VirtualTable.FLEX_MIN - 11


def test_history_matches() -> None:
    from comfytui.ui.widgets.history import matches

    state = fixed_app().state
    view = state.get(pid(3))
    assert view is not None
    assert matches(view, "storm FAILED") and not matches(view, "storm success")
    assert HistoryPane.number == 4


async def test_user_keymap_remaps_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keys.json"
    keymap.write_text(json.dumps({"app.help": "f1"}))
    monkeypatch.setenv("COMFYTUI_KEYMAP", str(keymap))
    app = fixed_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
