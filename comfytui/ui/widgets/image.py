"""A widget that draws image bytes with half-blocks; decoding and scaling run in a thread, latest frame wins."""

from __future__ import annotations

import asyncio
from typing import Any

from PIL import Image
from rich.console import RenderableType
from rich.text import Text
from textual.events import Resize
from textual.widget import Widget

from comfytui.ui import pixels


class ImageView(Widget):
    """Call `show(data)` as often as you like; at most one decode runs, and only the newest frame is drawn."""

    DEFAULT_CSS = """
    ImageView { height: 1fr; width: 1fr; content-align: center middle; }
    """

    def __init__(self, placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self._data: bytes | None = None
        self._decoded: tuple[int, Image.Image] | None = None  # (id of bytes, image)
        self._rendered: RenderableType | None = None
        self._rendered_for: tuple[int, int, int] | None = None  # (id, cols, rows)
        self._busy = False
        self.frames_drawn = 0

    def show(self, data: bytes | None) -> None:
        """Set the image bytes (None clears it)."""
        if data is self._data:
            return
        self._data = data
        if data is None:
            self._rendered = None
            self._rendered_for = None
            self.refresh()
            return
        self._kick()

    def on_resize(self, event: Resize) -> None:
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
                decoded = self._decoded if self._decoded and self._decoded[0] == id(data) else None
                result = await asyncio.to_thread(self._convert, data, decoded, cols, rows)
                self._decoded, rendered = result
                self._rendered, self._rendered_for = rendered, target
                self.frames_drawn += 1
                self.refresh()
        finally:
            self._busy = False

    @staticmethod
    def _convert(
        data: bytes, decoded: tuple[int, Image.Image] | None, cols: int, rows: int
    ) -> tuple[tuple[int, Image.Image] | None, RenderableType]:
        try:
            image = decoded[1] if decoded else pixels.decode(data)
        except Exception as exc:  # a broken frame must not break the pane
            return None, Text(f"(cannot decode image: {exc})", style="dim")
        result = pixels.to_pixels(image, cols, rows)
        return (id(data), image), (result if result is not None else Text(""))

    def render(self) -> RenderableType:
        if self._rendered is not None and self._data is not None:
            return self._rendered
        return Text(self.placeholder, style="dim italic")
