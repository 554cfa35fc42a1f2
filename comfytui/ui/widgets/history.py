"""History pane: finished prompts, newest first, with a `/` filter; Enter opens the detail screen."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from comfytui.ui import fmt
from comfytui.ui.keymap import FILTER_BINDINGS, HISTORY_BINDINGS
from comfytui.ui.widgets.base import Pane, seconds
from comfytui.ui.widgets.table import Cells, KeyedTable

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState, PromptView

COLUMNS = [
    ("status", "status"),
    ("title", "title"),
    ("duration", "time"),
    ("outputs", "out"),
    ("ended", "ended"),
    ("id", "id"),
    ("num", "#"),
    ("by", "by"),
]


def clock(t: float | None, now: float) -> str:
    """Wall-clock time of `t`; the date too when it is not from the last day."""
    s = seconds(t)
    if s is None:
        return "-"
    fmt_ = "%H:%M:%S" if now - s < 86400 else "%m-%d %H:%M"
    return time.strftime(fmt_, time.localtime(s))


def history_row(view: PromptView, now: float, title_w: int = 48) -> Cells:
    glyph, style = fmt.PROMPT_GLYPHS.get(view.status, ("?", "dim"))
    return (
        Text(f"{glyph} {view.status}", style=style),
        fmt.truncate(view.title or "(untitled)", title_w),
        fmt.duration(view.duration),
        str(len(view.outputs)) if view.outputs else "",
        clock(view.ended or view.started or view.created, now),
        fmt.short_id(view.prompt_id),
        fmt.number(view.number),
        Text("me", style="bold") if view.mine else Text("other", style="dim italic"),
    )


def matches(view: PromptView, query: str) -> bool:
    """Case-insensitive match on id, title, status and submitter; words must all match."""
    hay = f"{view.prompt_id} {view.title} {view.status} {'me' if view.mine else 'other'}".lower()
    return all(word in hay for word in query.lower().split())


class FilterInput(Input):
    BINDINGS = FILTER_BINDINGS

    def action_clear_filter(self) -> None:
        self.value = ""
        self.display = False
        self.screen.query_one("#history-table").focus()


class HistoryPane(Pane):
    """Newest first; `/` filter; Enter details; r / R re-run."""

    number = 4
    label = "History"
    BINDINGS = HISTORY_BINDINGS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query_text = ""
        self._row_cache: dict[str, tuple[tuple[object, ...], Cells]] = {}
        self._last_state: DashboardState | None = None

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, id="history-table")
        filt = FilterInput(placeholder="filter: words in id, title, status, me/other (Esc clears)", id="history-filter")
        filt.display = False
        yield filt

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#history-table", KeyedTable)

    def _row(self, view: PromptView, now: float, title_w: int) -> Cells:
        sig = (view.status, view.duration, len(view.outputs), view.ended, view.title, view.number, view.mine, title_w)
        hit = self._row_cache.get(view.prompt_id)
        if hit is not None and hit[0] == sig:
            return hit[1]
        cells = history_row(view, now, title_w)
        self._row_cache[view.prompt_id] = (sig, cells)
        return cells

    def update_from(self, state: DashboardState, now: float) -> None:
        self._last_state = state
        views = state.history
        if self.query_text:
            views = [v for v in views if matches(v, self.query_text)]
        narrow = self.size.width < 100
        tw = self.title_width(13 + 6 + 3, 4, hi=48) if narrow else self.title_width(13 + 6 + 3 + 8 + 8 + 5 + 5, 8)
        self.table.fit_width(tw)
        self.table.sync([(v.prompt_id, self._row(v, now, tw)) for v in views])
        if len(self._row_cache) > 2 * len(state.history) + 100:
            keep = {v.prompt_id for v in state.history}
            self._row_cache = {k: v for k, v in self._row_cache.items() if k in keep}
        total = len(state.history)
        self.set_count(f"({len(views)}/{total} matching “{self.query_text}”)" if self.query_text else f"({total})")

    def action_filter(self) -> None:
        filt = self.query_one(FilterInput)
        filt.display = True
        filt.focus()

    @on(Input.Changed, "#history-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        if self._last_state is not None:
            self.update_from(self._last_state, self.dash.now())

    @on(Input.Submitted, "#history-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    @on(DataTable.RowSelected, "#history-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_detail()

    def action_open_detail(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.dash.open_detail(key)

    def action_rerun(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.dash.rerun(key, new_seed=False)

    def action_rerun_new_seed(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.dash.rerun(key, new_seed=True)
