"""The top bar: server, connection state, version, device, VRAM/RAM, queue length."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget

from comfytui.ui import fmt

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState


_URL_IN_ERROR = re.compile(r"(cannot connect|cannot reach ComfyUI)(?: to| at) \S+?: ")


def short_error(message: str) -> str:
    """A connection error without the server URL (the bar shows it already): the reason gets the room."""
    return _URL_IN_ERROR.sub(r"\1: ", message, count=1)


class HeaderBar(Widget):
    """One line; drops low-priority segments when narrow."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; dock: top; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, server: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.server = server
        self._segments: list[tuple[int, Text]] = []
        self._error: Text | None = None  # the connection error segment: shortened before anything else goes

    def update_from(self, state: DashboardState, now: float) -> None:
        """Rebuild the segments from the state (`now` is the epoch time used for countdowns)."""
        segs: list[tuple[int, Text]] = [(0, Text("comfytui", style="bold"))]
        segs.append((1, Text(self.server, style="underline")))
        conn = state.connection
        label: str = conn.state
        if conn.state == "reconnecting" and (conn.retry_at is not None or conn.retry_in is not None):
            left = conn.retry_at - now if conn.retry_at is not None else (conn.retry_in or 0.0)
            # the countdown ran out: an attempt is under way (a server that never answers holds it until a timeout)
            label = f"reconnecting in {left:.0f}s" if left >= 0.5 else "reconnecting now"
            if conn.attempt:
                label += f" (#{conn.attempt})"
        dot = "●" if conn.state == "connected" else "○"
        segs.append((0, Text(f"{dot} {label}", style=fmt.STATE_STYLES.get(conn.state, ""))))
        error: Text | None = None
        if conn.state != "connected" and conn.last_error:
            # the URL is already on the bar; the reason outranks the (stale) stats when the bar is short of room
            error = Text(fmt.truncate(short_error(conn.last_error), 64), style="red")
            segs.append((2, error))
        stats = state.stats
        version = stats.comfyui_version if stats else ""
        if version:
            segs.append((3, Text(f"ComfyUI {version}")))
        if stats is not None and stats.devices:
            dev = stats.devices[0]
            name = re.sub(r"^\w+:\d+\s*", "", dev.name).strip() or dev.type
            segs.append((4, Text(fmt.truncate(name, 28))))
            if dev.vram_total and dev.type != "cpu":  # a CPU device reports system RAM as its "VRAM"
                used = dev.vram_total - dev.vram_free
                segs.append((2, Text(f"VRAM {fmt.human_bytes(used)}/{fmt.human_bytes(dev.vram_total)}")))
        if stats is not None and stats.ram_total:
            used = stats.ram_total - stats.ram_free
            segs.append((2, Text(f"RAM {fmt.human_bytes(used)}/{fmt.human_bytes(stats.ram_total)}")))
        pending = len(state.pending) + (1 if state.running is not None else 0)
        queue = max(pending, state.queue_remaining or 0)
        segs.append((0, Text(f"queue {queue}", style="bold" if queue else "dim")))
        if [(p, t.plain, t.style) for p, t in segs] != [(p, t.plain, t.style) for p, t in self._segments]:
            self._segments = segs
            self._error = error
            self.refresh()

    def render(self) -> Text:
        width = max(10, self.size.width)
        segs = list(self._segments)
        sep = Text(" │ ", style="dim")

        def length(items: list[tuple[int, Text]]) -> int:
            return sum(t.cell_len for _, t in items) + 3 * max(0, len(items) - 1)

        while length(segs) > width and segs:
            worst = max(p for p, _ in segs)
            if worst == 0:
                break
            at = next((i for i, (p, t) in enumerate(segs) if t is self._error and p >= worst), None)
            if at is not None and sum(1 for p, _ in segs if p == worst) == 1:
                # the reason is the most dispensable segment left: shorten it if it can stay
                room = segs[at][1].cell_len - (length(segs) - width)
                if room >= 16:
                    short = segs[at][1].copy()
                    short.truncate(room, overflow="ellipsis")
                    segs[at] = (segs[at][0], short)
                    continue
            idx = max(i for i, (p, _) in enumerate(segs) if p == worst)
            segs.pop(idx)
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, (_, t) in enumerate(segs):
            if i:
                out.append_text(sep)
            out.append_text(t)
        return out
