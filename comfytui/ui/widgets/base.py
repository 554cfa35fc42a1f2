"""What every pane shares: a bordered container with a numbered title, fed from `DashboardState`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.containers import Vertical

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState
    from comfytui.ui.app import ComfyTUIApp


def seconds(t: float | None) -> float | None:
    """Timestamps may arrive as ms since the epoch; normalise to seconds."""
    if t is None:
        return None
    return t / 1000.0 if t > 1e11 else float(t)


REPAINT_ALL = frozenset({"connection", "stats", "queue", "graph", "progress", "preview", "history", "logs"})


class Pane(Vertical):
    """A dashboard pane. Subclasses implement `update_from(state, now)`; they never touch the network."""

    DEFAULT_CSS = """
    Pane { border: round $primary 50%; border-title-align: left; border-subtitle-align: right; }
    Pane:focus-within { border: round $accent; }
    """

    ALLOW_MAXIMIZE = True
    number: int = 0
    label: str = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = f"{self.number} {self.label}"

    @property
    def dash(self) -> ComfyTUIApp:
        """The app, which owns the session and every action."""
        return cast("ComfyTUIApp", self.app)

    def on_resize(self) -> None:
        """Column widths follow the pane's size: repaint from the current state."""
        self.dash.on_session_change(set(REPAINT_ALL))

    def update_from(self, state: DashboardState, now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def title_width(self, fixed: int, columns: int, lo: int = 8, hi: int = 60) -> int:
        """Cells left for a flexible column: pane width minus border, scrollbar, `fixed` cells and cell padding."""
        width = self.size.width
        if not width:
            return lo
        return max(lo, min(hi, width - 3 - fixed - 2 * columns))

    def set_count(self, text: str) -> None:
        title = f"{self.number} {self.label}" + (f" {text}" if text else "")
        if title != self.border_title:
            self.border_title = title
