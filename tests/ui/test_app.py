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
from tests.ui.fixtures import T0, pid
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


async def test_header_has_no_vram_on_a_cpu_device() -> None:
    """ComfyUI on a CPU reports system RAM as the device's VRAM: the header must not show it twice."""
    from comfytui.client.models import SystemStats

    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        gib = 2**30
        app.state.set_stats(
            SystemStats.from_raw(
                {
                    "system": {"comfyui_version": "0.3.75", "ram_total": 24 * gib, "ram_free": 19 * gib},
                    "devices": [{"name": "cpu", "type": "cpu", "vram_total": 24 * gib, "vram_free": 19 * gib}],
                }
            )
        )
        app.on_session_change({"stats"})
        await until(pilot, lambda: "VRAM" not in str(app.header.render()))
        header = str(app.header.render())
        assert "RAM 5.0G/24.0G" in header and "VRAM" not in header and "│ cpu │" in header


async def test_graph_note_tells_broadcast_prompts_from_unseen_ones() -> None:
    """Another client's prompt sent without a client id has its node events broadcast: no "only the submitter"."""
    from comfytui.client import events as ev

    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        note = app.query_one("#graph-note")
        state = app.state
        state.apply(ev.ExecutionSuccess(pid(5), None), T0)  # the running prompt (mine) ends; 6 (other client) runs
        state.apply(ev.Status(3, None), T0)
        from comfytui.client.models import QueueSnapshot

        queue = state.pending
        state.set_queue(
            QueueSnapshot.from_raw(
                {
                    "queue_running": [[8, pid(8), queue[-1].prompt, {}, ["7"]]],
                    "queue_pending": [],
                }
            ),
            T0 + 1,
        )
        app.on_session_change({"queue", "graph"})
        assert state.running is not None and state.running.prompt_id == pid(8)
        await until(pilot, lambda: "to that client only" in str(note.render()))
        state.apply(ev.Progress(pid(8), "5", 1, 8), T0 + 2)  # broadcast (no client id): progress, no executing
        app.on_session_change({"graph"})
        await until(pilot, lambda: "broadcast" in str(note.render()))
        assert "to that client only" not in str(note.render())


async def test_narrow_layout_keeps_notes_and_status_glyphs_whole() -> None:
    """At 80×24: the graph note (at most 2 lines) is not cut off, a squeezed status column shows its glyph."""
    import textwrap

    from comfytui.ui.widgets import graph

    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        width = app.query_one("#graph").content_size.width - 2  # the note has one cell of padding each side
        source = Path(graph.__file__).read_text()
        notes = [line.split('"')[1] for line in source.splitlines() if line.strip().startswith('msg = "Another')]
        assert len(notes) == 2
        for note in notes:
            assert len(textwrap.wrap(note, width)) <= 2, note
        history = app.query_one("#history-table", VirtualTable)
        first = "".join(seg.text for seg in history.render_line(1))
        assert first.startswith(" ■ ") and "…" not in first[:4]  # the interrupted glyph, cropped, not "■…"


def test_detail_error_keeps_the_traceback_without_caret_lines() -> None:
    from comfytui.core.state import PromptView
    from comfytui.ui.screens.detail import error_text, summary

    view = PromptView("x" * 36)
    view.status = "failed"
    view.error = {
        "exception_type": "FileNotFoundError",
        "exception_message": "No such file: qa.png",
        "node_id": "4",
        "node_type": "LoadImage",
        "traceback": [
            '  File "execution.py", line 510, in execute\n    output = await get_output_data(a, b)\n'
            "                   ^^^^^^^^^^^^^^^^^^^^^^^^\n",
            '  File "nodes.py", line 1, in load_image\n    img = open(path)\n          ~~~~^^^^^^\n',
        ],
    }
    text = error_text(view)
    assert text is not None
    plain = text.plain
    assert "FileNotFoundError: No such file: qa.png" in plain and "in node 4 (LoadImage)" in plain
    assert 'File "execution.py", line 510' in plain and "img = open(path)" in plain
    assert "^" not in plain and "~~" not in plain
    view.detailed = True  # another client's prompt, sent without a client id: its events were broadcast
    assert "no per-node events" not in summary(view).plain


async def test_tables_follow_the_theme() -> None:
    """Every row of the virtual table carries the table's colours, and a theme switch redraws the cached rows."""
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = app.query_one("#history-table", VirtualTable)

        def backgrounds(y: int) -> set[object]:
            return {seg.style.bgcolor if seg.style else None for seg in table.render_line(y)}

        header = table.get_component_rich_style("vtable--header").bgcolor
        assert backgrounds(0) == {header}  # the header row is styled (it has no spans of its own)
        assert backgrounds(2) == {table.rich_style.bgcolor}
        dark = table.rich_style.bgcolor
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)
        assert not app.current_theme.dark and table.rich_style.bgcolor != dark
        assert backgrounds(2) == {table.rich_style.bgcolor}
        assert backgrounds(0) == {table.get_component_rich_style("vtable--header").bgcolor}


async def test_header_says_why_it_is_reconnecting() -> None:
    """A full header (GPU name, VRAM, RAM) still has room for the reason; the URL is not repeated in it."""
    from comfytui.client import events as ev

    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        state = app.state
        state.apply(ev.Disconnected("cannot connect to http://127.0.0.1:8188: connection refused"), T0)
        state.apply(ev.Reconnecting(4, 5.0), T0)
        app.on_session_change({"connection"})
        await until(pilot, lambda: "reconnecting" in str(app.header.render()))
        header = str(app.header.render())
        assert "reconnecting in 5s (#4)" in header and "cannot connect: connection refused" in header
        assert header.count("127.0.0.1:8188") == 1
        # the countdown is over and the attempt hangs (a server that never answers): no "in 0s" for ten seconds
        app.clock = lambda: T0 + 6
        state.note_error("queue: cannot reach ComfyUI at http://127.0.0.1:8188: no answer within 10s", T0 + 6)
        app.on_session_change({"connection"})
        await until(pilot, lambda: "reconnecting now (#4)" in str(app.header.render()))
        assert "queue: cannot reach ComfyUI: no answer" in str(app.header.render())
        # a narrower bar shortens the reason before it drops it (a long host name leaves little room)
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: app.size.width == 100)
        await pilot.pause(0.1)
        header = str(app.header.render())
        assert "queue: cannot reach" in header and "…" in header and "reconnecting now" in header, header


async def test_progress_freezes_while_the_connection_is_down() -> None:
    """Offline, the running prompt's step bar is the last known one: no elapsed clock, rate or ETA going on."""
    from comfytui.client import events as ev
    from comfytui.ui.widgets.progress import ProgressBars

    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        bars = app.query_one(ProgressBars)
        await until(pilot, lambda: bars.bars.elapsed is not None)
        app.state.apply(ev.Disconnected("connection lost"), T0)
        app.on_session_change({"connection", "progress"})
        await until(pilot, lambda: bars.bars.stale)
        assert "connection is down" in str(bars.render().renderables[2])
        assert bars.bars.elapsed is None and bars.bars.rate is None and bars.bars.eta is None
        assert bars.bars.value == 5 and bars.bars.max == 8  # the last known step stays


def test_log_lines_follow_a_tty() -> None:
    pane = LogPane()
    assert pane.split_lines("a\n\r 1%|\r 2%|") == ["a"]
    assert pane.split_lines("\r100%|\nnext\n") == ["100%|", "next"]
    # a logging line from another thread while tqdm redraws: it goes above the bar, never glued to it
    pane = LogPane()
    writes = ["got prompt\n", "\r  0%|   | 0/200", "got prompt\n", "\r100%|###| 200/200", "\r100%|###| 200/200"]
    writes += ["\n", "Prompt executed\n", "\r 50%| | 1/2", "no newline", "\n"]
    lines = [line for w in writes for line in pane.split_lines(w)]
    assert lines == ["got prompt", "got prompt", "100%|###| 200/200", "Prompt executed", " 50%| | 1/2", "no newline"]
    # the server went away mid-bar: the reconnect marker ends the bar before the new server's log
    from comfytui.live import RECONNECTED_LOG_LINE

    writes = ["\r 26%|##  | 51/200", RECONNECTED_LOG_LINE, "Starting server\n"]
    lines = [line for w in writes for line in pane.split_lines(w)]
    assert lines == [" 26%|##  | 51/200", "── reconnected ──", "Starting server"]


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


async def test_keyed_table_rows_render_at_their_width_before_idle() -> None:
    """After a reset (the flexible column changed width) re-added rows must not render at the label widths:
    DataTable measures new rows only when idle and keeps what it rendered before at the same update count."""
    app = ComfyTUIApp("http://x", state=fixed_app().state)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.query_one("#queue-table", KeyedTable)
        rows = [(pid(n), ("", str(n), f"{n:08d}", Text(f"prompt number {n}"), "other", "1s")) for n in (1, 2)]
        table.reset()
        table.sync(rows)
        widths = [c.content_width for c in table.columns.values()]
        assert widths[2] == 8 and widths[3] == len("prompt number 1") and widths[4] == len("other")
        assert "00000001" in "".join(seg.text for seg in table.render_line(1))


async def test_keyed_table_cursor_survives_a_reset() -> None:
    """A prompt moved to the front gets a negative number: the number column widens, the table is rebuilt, and the
    cursor must stay on the row it was on (a `d` right after would delete the wrong prompt)."""
    app = ComfyTUIApp("http://x", state=fixed_app().state)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.query_one("#queue-table", KeyedTable)
        rows = [(k, ("", n, k, Text(k), "me", "1s")) for n, k in (("1", "a"), ("2", "b"), ("3", "c"))]
        table.sync(rows)
        table.move_cursor(row=2)
        table.reset()
        table.sync([rows[0], rows[2], rows[1]])
        await pilot.pause()
        assert table.selected_key == "c" and table.cursor_row == 1


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
