"""A widget that draws image bytes with half-blocks; decoding and scaling run in a thread, latest frame wins."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PIL import Image
from rich.segment import Segment
from rich.style import Style
from textual.events import Resize
from textual.strip import Strip
from textual.widget import Widget

from comfytui.ui import pixels

MAX_FPS = 15.0  # preview frames drawn per second at most (more arrive; the newest wins)


class ImageView(Widget):
    """Call `show(data)` as often as you like; at most one decode runs, and only the newest frame is drawn."""

    DEFAULT_CSS = """
    ImageView { height: 1fr; width: 1fr; }
    """

    def __init__(self, placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self._data: bytes | None = None
        self._decoded: tuple[int, Image.Image] | None = None  # (id of bytes, image)
        self._strips: list[Strip] = []
        self._rendered_for: tuple[int, int, int] | None = None  # (id, cols, rows)
        self._error: str | None = None
        self._busy = False
        self._last_start = 0.0
        self.frames_drawn = 0

    def show(self, data: bytes | None) -> None:
        """Set the image bytes (None clears it)."""
        if data is self._data:
            return
        self._data = data
        if data is None:
            self._strips = []
            self._rendered_for = None
            self.refresh()
            return
        self._kick()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.refresh()

    def on_resize(self, event: Resize) -> None:
        self._kick()

    def notify_style_update(self) -> None:
        """A theme or CSS change: redraw with the new background (the strips carry the old one)."""
        super().notify_style_update()
        self._rendered_for = None
        self._kick()

    def _kick(self) -> None:
        if not self._busy and self._data is not None and self.is_mounted:
            self._busy = True
            self.run_worker(self._convert_loop(), group=f"image-{id(self)}", exit_on_error=False)

    async def _convert_loop(self) -> None:
        try:
            while True:
                data = self._data
                cols, rows = self.content_size.width, self.content_size.height
                if data is None or cols <= 0 or rows <= 0:
                    return
                target = (id(data), cols, rows)
                if target == self._rendered_for:
                    return
                wait = self._last_start + 1.0 / MAX_FPS - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue  # a newer frame may have arrived meanwhile
                self._last_start = time.monotonic()
                decoded = self._decoded if self._decoded and self._decoded[0] == id(data) else None
                self._decoded, lines, self._error = await asyncio.to_thread(self._convert, data, decoded, cols, rows)
                base = self.rich_style
                self._strips = [Strip([Segment(t, s or base) for t, s in line]) for line in lines]
                self._rendered_for = target
                self.frames_drawn += 1
                self.refresh()
        finally:
            self._busy = False

    @staticmethod
    def _convert(
        data: bytes, decoded: tuple[int, Image.Image] | None, cols: int, rows: int
    ) -> tuple[tuple[int, Image.Image] | None, list[list[tuple[str, Any]]], str | None]:
        try:
            image = decoded[1] if decoded else pixels.decode(data, (cols * 2, rows * 4))
        except Exception as exc:  # a broken frame must not break the pane
            return None, [], f"(cannot decode image: {exc})"
        return (id(data), image), pixels.to_strips(image, cols, rows), None

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        strips = self._strips
        if not strips or self._data is None:
            message = self._error or self.placeholder
            if y == self.content_size.height // 2 and message:
                style = self.rich_style + Style(dim=True, italic=True)
                return Strip([Segment(message.center(width)[:width], style)]).extend_cell_length(width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        top = max(0, (self.content_size.height - len(strips)) // 2)
        index = y - top
        if 0 <= index < len(strips):
            return strips[index].extend_cell_length(width, self.rich_style)
        return Strip.blank(width, self.rich_style)
