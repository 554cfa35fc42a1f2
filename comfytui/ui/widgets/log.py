"""Log pane: the server's log, live (the state holds `/internal/logs/raw` then the `logs` subscription)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    BINDINGS = LOG_BINDINGS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: object | None = None
        self._partial = ""
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
        lines = [line for e in new for line in self.split_lines(e.m)]  # one write at a time (see split_lines)
        if lines:
            self.query_one(Log).write_lines(lines)
            self.lines_written += len(lines)

    def split_lines(self, text: str) -> list[str]:
        """Complete lines of `text` (after any partial line kept from before); `\\r` rewrites the line like a tty.

        Feed it one write (log entry) at a time: whole lines written (by another thread) while a progress bar is
        being redrawn (`\\r...`) go above the bar, which stays the partial line, as `tqdm.write` does.
        """
        out: list[str] = []
        if self._partial.startswith("\r") and text[:1] not in ("\r", "\n", ""):
            bar, self._partial = self._partial, ""
            out = self.split_lines(text)
            if self._partial:  # an unfinished line of its own: the bar was done as shown
                out.insert(0, bar.lstrip("\r").rstrip())
            else:
                self._partial = bar
            return out
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        for piece in pieces:
            if "\r" in piece:
                parts = [p for p in piece.split("\r") if p.strip()]
                piece = parts[-1] if parts else ""
            out.append(piece.rstrip())
        if "\r" in self._partial:  # keep only the newest redraw of a progress bar
            parts = [p for p in self._partial.split("\r") if p.strip()]
            self._partial = "\r" + parts[-1] if parts else ""
        return out

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
