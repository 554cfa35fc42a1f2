"""Queue pane: the running prompt and every pending one, from every client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable

from comfytui.ui import fmt
from comfytui.ui.keymap import QUEUE_BINDINGS
from comfytui.ui.widgets.base import Pane, seconds
from comfytui.ui.widgets.table import Cells, KeyedTable

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState, PromptView

COLUMNS = [("state", " "), ("num", "#"), ("id", "id"), ("title", "title"), ("by", "by"), ("age", "age")]


def queue_row(view: PromptView, now: float, running: bool, title_w: int = 36) -> Cells:
    """The cells of one queue row."""
    glyph, style = fmt.PROMPT_GLYPHS["running" if running else "pending"]
    since = seconds(view.started) if running and view.started else seconds(view.created)
    by = Text("me", style="bold") if view.mine else Text("other", style="dim italic")
    title = Text(fmt.truncate(view.title or "(untitled)", title_w), style="bold" if running else "")
    return (
        Text(glyph, style=style),
        fmt.number(view.number),
        fmt.short_id(view.prompt_id),
        title,
        by,
        fmt.age(since, now),
    )


class QueuePane(Pane):
    """Running + pending prompts; delete, move to front, clear all (confirmed), interrupt."""

    number = 1
    label = "Queue"
    BINDINGS = QUEUE_BINDINGS

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, id="queue-table")

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def update_from(self, state: DashboardState, now: float) -> None:
        rows: list[tuple[str, Cells]] = []
        numbers = max((len(fmt.number(v.number)) for v in state.queue), default=1)
        tw = self.title_width(1 + numbers + 8 + 5 + 3, 6)
        self.table.fit_width(tw)
        if state.running is not None:
            rows.append((state.running.prompt_id, queue_row(state.running, now, True, tw)))
        rows.extend((v.prompt_id, queue_row(v, now, False, tw)) for v in state.pending if v.prompt_id)
        self.table.sync(rows)
        running = 1 if state.running is not None else 0
        self.set_count(f"({running} running, {len(state.pending)} pending)")

    def selected_pending(self) -> str | None:
        key = self.table.selected_key
        state = self.dash.state
        if key is None or (state.running is not None and state.running.prompt_id == key):
            return None
        return key

    def action_delete_pending(self) -> None:
        key = self.selected_pending()
        if key is None:
            self.notify("Select a pending prompt to delete", severity="warning")
            return
        self.dash.delete_pending([key])

    def action_move_to_front(self) -> None:
        key = self.selected_pending()
        if key is None:
            self.notify("Select a pending prompt to move", severity="warning")
            return
        self.dash.move_to_front(key)

    @on(DataTable.RowSelected, "#queue-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_detail()

    def action_open_detail(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.dash.open_detail(key)

    def action_clear_pending(self) -> None:
        self.dash.action_clear_pending()
