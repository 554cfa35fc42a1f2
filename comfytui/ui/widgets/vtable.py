"""A virtual table: renders only the rows on screen, so 10,000+ rows cost nothing until they are scrolled to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int | None = None  # None: takes the room left (one flexible column)
    justify: str = "left"
    min_width: int | None = None  # shrinks down to this when the flexible column would get too narrow


class VirtualTable(ScrollView, can_focus=True):
    """Rows are keys; `cells(key)` is asked only for visible rows. A fixed header; a row cursor kept by key."""

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden; }
    VirtualTable > .vtable--header { background: $panel; text-style: bold; }
    VirtualTable > .vtable--cursor { background: $block-cursor-blurred-background; }
    VirtualTable:focus > .vtable--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"vtable--header", "vtable--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.pagedown"),
        Binding("home,g", "jump(0)", "First", show=False, id="table.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Select", show=False, id="table.select"),
    ]

    class Selected(Message):
        """Enter (or a click) on a row."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column], cells: Callable[[str], Cells], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.cells = cells
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self.cursor_row = 0
        self._strips: dict[tuple[str, int, int, bool, bool], Strip] = {}

    # -- data ---------------------------------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return self._keys

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def selected_key(self) -> str | None:
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    def text(self, key: str) -> str:
        """A row's cells as plain text (tests, tools)."""
        return " ".join(getattr(c, "plain", str(c)) for c in self.cells(key))

    def set_keys(self, keys: list[str]) -> None:
        """Show these rows in this order; the cursor stays on its row's key (or on the top row if it was there)."""
        selected = self.selected_key
        if keys != self._keys:
            self._keys = keys
            self._index = {k: i for i, k in enumerate(keys)}
            self._strips.clear()
            if selected is not None and selected in self._index and self.cursor_row > 0:
                self.cursor_row = self._index[selected]  # on the top row the cursor follows the newest entry
            self.cursor_row = max(0, min(self.cursor_row, len(keys) - 1))
            self.virtual_size = Size(self.size.width, len(keys) + 1)
            self.refresh()
        else:
            self.refresh()  # visible rows whose cells changed are redrawn (their strips are keyed by the cells)

    def invalidate(self) -> None:
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        """A theme or CSS change: the cached rows carry the old colours."""
        super().notify_style_update()
        self._strips.clear()

    # -- cursor -------------------------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self._keys:
            return
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        body = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(0 if where == 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: Any) -> None:
        y = event.y
        if y >= 1:
            row = int(self.scroll_offset.y) + y - 1
            if row == self.cursor_row:
                self.action_select()
            self.move_cursor(row)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._keys) + 1)
        self._strips.clear()

    # -- rendering ----------------------------------------------------------------------------------------------

    FLEX_MIN: ClassVar[int] = 20

    def _widths(self, width: int) -> list[int]:
        widths = [c.width or 0 for c in self.columns]
        flex = width - sum(widths) - 2 * len(self.columns) - 1
        # droppable columns (min_width 0) go first, from the right; then the others shrink
        order = [i for i in reversed(range(len(self.columns))) if self.columns[i].min_width == 0]
        order += [i for i, c in enumerate(self.columns) if c.min_width]
        for i in order:
            if flex >= self.FLEX_MIN:
                break
            c = self.columns[i]
            if c.width is None or c.min_width is None:
                continue
            if c.min_width == 0:
                flex += widths[i] + 2
                widths[i] = 0
            else:
                give = min(widths[i] - c.min_width, self.FLEX_MIN - flex)
                widths[i] -= give
                flex += give
        flex = max(6, flex)
        return [w if c.width is not None else flex for c, w in zip(self.columns, widths, strict=True)]

    def _line(self, cells: Sequence[Any], width: int, style: Style) -> Strip:
        out = Text(no_wrap=True, overflow="crop", style=style)
        for column, w, cell in zip(self.columns, self._widths(width), cells, strict=False):
            if w == 0 and column.min_width == 0:
                continue
            text = cell if isinstance(cell, Text) else Text(str(cell))
            text = text.copy()
            text.truncate(w, overflow="crop" if w <= 2 else "ellipsis")  # a squeezed status keeps its glyph
            if column.justify == "right":
                text.pad_left(w - text.cell_len)
            else:
                text.pad_right(w - text.cell_len)
            out.append(" ")
            out.append_text(text)
            out.append(" ")
        out.truncate(width, pad=True)
        segments = list(out.render(self.app.console))  # (without spans, Text.render drops the base style)
        return Strip(Segment.apply_style(segments, style), width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width - (1 if self.show_vertical_scrollbar else 0)
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("vtable--header")
            return self._line([Text(c.label) for c in self.columns], width, base + header)
        row = int(self.scroll_offset.y) + y - 1
        if not (0 <= row < len(self._keys)):
            return Strip.blank(width, base)
        key = self._keys[row]
        is_cursor = row == self.cursor_row
        cells = self.cells(key)
        cache_key = (key, id(cells), width, is_cursor, self.has_focus)
        strip = self._strips.get(cache_key)
        if strip is None:
            style = base + self.get_component_rich_style("vtable--cursor") if is_cursor else base
            strip = self._line(cells, width, style)
            if len(self._strips) > 4096:
                self._strips.clear()
            self._strips[cache_key] = strip
        return strip
