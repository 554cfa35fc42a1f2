"""Log pane: the server's log, live (the state holds `/internal/logs/raw` then the `logs` subscription)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Log

from comfytui.ui.keymap import LOG_BINDINGS
from comfytui.ui.widgets.base import Pane

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState


class LogPane(Pane):
    """Appends only the entries it has not written yet."""

    number = 5
    label = "Log"
    BINDINGS = LOG_BINDINGS  # type: ignore[assignment]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._last: object | None = None
        self.lines_written = 0

    def compose(self) -> ComposeResult:
        yield Log(max_lines=5000, id="log-view", auto_scroll=True)

    def update_from(self, state: DashboardState, now: float) -> None:
        entries = state.logs
        if not entries or entries[-1] is self._last:
            return
        new = []
        for entry in reversed(entries):
            if entry is self._last:
                break
            new.append(entry)
        new.reverse()
        self._last = entries[-1]
        text = "".join(e.m for e in new)
        if text:
            self.query_one(Log).write(text)
            self.lines_written += text.count("\n")

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
