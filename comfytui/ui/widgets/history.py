"""History pane: finished prompts, newest first, with a `/` filter; Enter opens the detail screen."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input

from comfytui.ui import fmt
from comfytui.ui.keymap import FILTER_BINDINGS, HISTORY_BINDINGS
from comfytui.ui.widgets.base import Pane, seconds
from comfytui.ui.widgets.vtable import Cells, Column, VirtualTable

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState, PromptView

COLUMNS = [
    Column("status", "status", 13, min_width=2),
    Column("title", "title", None),
    Column("duration", "time", 7, "right"),
    Column("outputs", "out", 3, "right"),
    Column("ended", "ended", 11, min_width=0),
    Column("id", "id", 8, min_width=0),
    Column("num", "#", 5, "right", min_width=0),
    Column("by", "by", 5, min_width=0),
]


def clock(t: float | None, now: float) -> str:
    """Wall-clock time of `t`; the date too when it is not from the last day."""
    s = seconds(t)
    if s is None:
        return "-"
    fmt_ = "%H:%M:%S" if now - s < 86400 else "%m-%d %H:%M"
    return time.strftime(fmt_, time.localtime(s))


def history_row(view: PromptView, now: float) -> Cells:
    glyph, style = fmt.PROMPT_GLYPHS.get(view.status, ("?", "dim"))
    return (
        Text(f"{glyph} {view.status}", style=style),
        " ".join((view.title or "(untitled)").split()),
        fmt.duration(view.duration),
        str(len(view.outputs)) if view.outputs else "",
        clock(view.ended or view.started or view.created, now),
        fmt.short_id(view.prompt_id),
        fmt.number(view.number),
        Text("me", style="bold") if view.mine else Text("other", style="dim italic"),
    )


def haystack(view: PromptView) -> str:
    """What `/` searches: id, title, status and submitter, lower-cased."""
    return f"{view.prompt_id} {view.title} {view.status} {'me' if view.mine else 'other'}".lower()


def matches(view: PromptView, query: str) -> bool:
    """Case-insensitive match on id, title, status and submitter; words must all match."""
    hay = haystack(view)
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
        self._hays: dict[str, tuple[str, str]] = {}
        self._last_state: DashboardState | None = None
        self._now = 0.0

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, self.cells, id="history-table")
        filt = FilterInput(placeholder="filter: words in id, title, status, me/other (Esc clears)", id="history-filter")
        filt.display = False
        yield filt

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#history-table", VirtualTable)

    @staticmethod
    def _sig(view: PromptView) -> tuple[object, ...]:
        return (view.status, view.duration, len(view.outputs), view.ended, view.title, view.number, view.mine)

    def cells(self, key: str) -> Cells:
        """The cells of one row, built when it is first drawn (and again when the prompt changes)."""
        state = self._last_state
        view = state.get(key) if state is not None else None
        if view is None:
            return ("?",)
        sig = self._sig(view)
        hit = self._row_cache.get(key)
        if hit is not None and hit[0] == sig:
            return hit[1]
        cells = history_row(view, self._now)
        self._row_cache[key] = (sig, cells)
        return cells

    def update_from(self, state: DashboardState, now: float) -> None:
        self._last_state = state
        self._now = now
        views = state.history
        if self.query_text:
            words = self.query_text.lower().split()
            hays = self._hays
            found = []
            for v in views:
                hay = hays.get(v.prompt_id)
                if hay is None or hay[0] is not v.status:
                    hay = hays[v.prompt_id] = (v.status, haystack(v))
                if all(w in hay[1] for w in words):
                    found.append(v)
            views = found
        keys = [v.prompt_id for v in views]
        cache = self._row_cache
        self.table.set_keys(keys)
        if len(cache) > 2 * len(state.history) + 100:
            keep = set(keys)
            self._row_cache = {k: v for k, v in cache.items() if k in keep}
            self._hays = {k: v for k, v in self._hays.items() if k in keep}
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

    @on(VirtualTable.Selected, "#history-table")
    def _row_selected(self, event: VirtualTable.Selected) -> None:
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
