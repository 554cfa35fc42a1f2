"""A DataTable that is synchronised in place from a list of keyed rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable
from textual.widgets._data_table import ColumnKey, RowKey, TwoWayDict  # ordering rows by key needs the internal map

Cells = tuple[Any, ...]


def _width(cell: Any) -> int:
    return cell.cell_len if hasattr(cell, "cell_len") else len(str(cell))


class KeyedTable(DataTable[Any]):
    """`sync(rows)` adds, updates (only changed cells) and removes rows by key, and keeps their order."""

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec = list(columns)
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []
        self._reselect: str | None = None  # the row the cursor was on before a reset

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    def reset(self) -> None:
        """Drop every row (column widths shrink back to fit the next `sync`, the cursor stays on its row's key)."""
        self._reselect = self.selected_key or self._reselect
        self.clear()
        for column in self.columns.values():
            column.content_width = column.label.cell_len
        self._cells.clear()
        self._order = []

    def fit_width(self, width: int) -> None:
        """Reset when the flexible column's width changes, so old wide cells do not keep the column wide."""
        if width != getattr(self, "_fit_width", None):
            self._fit_width = width
            if self._cells:
                self.reset()

    def cells(self, key: str) -> Cells | None:
        """The cells last synced for `key`."""
        return self._cells.get(key)

    def text(self, key: str) -> str:
        """The row's cells as plain text, space separated (for tests and tools)."""
        cells = self._cells.get(key) or ()
        return " ".join(getattr(c, "plain", str(c)) for c in cells)

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self._order or not (0 <= self.cursor_row < len(self._order)):
            return None
        return self._order[self.cursor_row]

    def sync(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Make the table show exactly `rows` (key, cells) in that order, touching only what changed."""
        if not self.columns:
            return
        selected = self.selected_key if self._order else self._reselect
        self._reselect = None
        wanted = {key for key, _ in rows}
        stale = [k for k in self._cells if k not in wanted]
        if len(stale) > 32:  # remove_row is O(rows): rebuild instead
            self.clear()
            self._cells.clear()
            self._order = []
        else:
            for key in stale:
                self.remove_row(key)
                del self._cells[key]
        column_keys = [key for key, _ in self._column_spec]
        columns = [self.columns[ColumnKey(k)] for k in column_keys]
        for key, cells in rows:
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                # widen now: DataTable measures new rows only when idle, and rows rendered before that stay
                # cached at the old widths (same update count) until something else changes
                for column, cell in zip(columns, cells, strict=False):
                    if (w := _width(cell)) > column.content_width:
                        column.content_width = w
            elif old != cells:
                for col, (a, b) in enumerate(zip(old, cells, strict=True)):
                    if a != b:
                        # a wider cell must widen the column (a layout refresh); otherwise only the row repaints
                        column = self.columns[ColumnKey(column_keys[col])]
                        wider = _width(b) > column.content_width
                        self.update_cell(key, column_keys[col], b, update_width=wider)
            self._cells[key] = cells
        order = [key for key, _ in rows]
        if order != self._order:
            self._order = order
            self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(order)})
            self._update_count += 1
            self.refresh()
            if selected in wanted:
                self.move_cursor(row=order.index(selected), animate=False)
            elif self.cursor_row >= len(order) and order:
                self.move_cursor(row=len(order) - 1, animate=False)
