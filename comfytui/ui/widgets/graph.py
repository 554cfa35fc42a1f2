"""Running graph pane: the running prompt's nodes in execution order, indented by graph depth.

Drawn as plain text lines (cheaper than a DataTable at 30 frames/s); the window follows the executing node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from comfytui.ui import fmt
from comfytui.ui.widgets.base import Pane, seconds

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState, NodeState, PromptView

Row = tuple[str, Text, str, str, str, str]  # glyph/style, label, time, class, inputs  (with the node id)


def node_time(node: NodeState, now: float) -> str:
    """Duration when finished, elapsed (whole seconds, so it changes once a second) while running."""
    if node.status == "running" and node.started is not None:
        started = seconds(node.started)
        return f"{int(now - started)}s" if started is not None else "-"
    if node.status == "cached":
        return "cached"
    d = node.duration
    return fmt.duration(d) if d is not None else ""


def graph_rows(view: PromptView, now: float) -> list[tuple[str, tuple[Any, ...]]]:
    """(node id, (glyph Text, label, time, class, inputs, current)) per node, in execution order."""
    prompt = view.prompt if isinstance(view.prompt, dict) else {}
    depths = fmt.node_depths(prompt)
    rows: list[tuple[str, tuple[Any, ...]]] = []
    for nid, node in view.nodes.items():
        glyph, style = fmt.NODE_GLYPHS.get(node.status, ("?", "dim"))
        current = nid == view.current_node or node.status == "running"
        name = node.title or node.class_type
        klass = "" if node.class_type == node.title else node.class_type
        extra = f" {node.value:g}/{node.max:g}" if node.status == "running" and node.max else ""
        rows.append(
            (
                nid,
                (
                    (glyph, style),
                    "  " * depths.get(nid, 0) + name,
                    node_time(node, now) + extra,
                    klass,
                    ",".join(fmt.upstream(prompt, nid)),
                    current,
                    node.status,
                ),
            )
        )
    return rows


class GraphView(Widget):
    """The node list: id, glyph, indented title, time, class, inputs. The current node is reversed."""

    DEFAULT_CSS = """
    GraphView { height: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[tuple[str, tuple[Any, ...]]] = []

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self._rows]

    def text(self, key: str) -> str:
        """The row for node `key` as plain text (tests, tools)."""
        for k, (glyph, label, time_, klass, inputs, _cur, _st) in self._rows:
            if k == key:
                return f"{glyph[0]} {k} {label.strip()} {time_} {klass} {inputs}"
        return ""

    def set_rows(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        if rows != self._rows:
            self._rows = rows
            self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        rows = self._rows
        if not rows or width <= 0 or height <= 0:
            return Text("")
        id_w = max(2, *(len(k) for k, _ in rows))
        time_w = max(4, *(len(r[2]) for _, r in rows))
        fixed = 2 + id_w + 1 + 1 + time_w
        label_w = max(6, min(40, max(len(r[1]) for _, r in rows), width - fixed))
        room = width - fixed - label_w
        class_w = min(22, max(len(r[3]) for _, r in rows), room - 2) if room >= 10 else 0
        current = next((i for i, (_, r) in enumerate(rows) if r[5]), 0)
        body = height - 1
        start = max(0, min(current - body // 2, len(rows) - body))
        out = Text(no_wrap=True, overflow="crop")
        header = f"  {'id'.ljust(id_w)} {'node'.ljust(label_w)} {'time'.rjust(time_w)}"
        if class_w:
            header += f"  {'class'.ljust(class_w)} ← from"
        out.append(header[:width] + "\n", style="bold")
        for nid, (glyph, label, time_, klass, inputs, cur, status) in rows[start : start + body]:
            line = Text(no_wrap=True, overflow="crop")
            line.append(glyph[0] + " ", style=glyph[1])
            line.append(nid.ljust(id_w) + " ", style="bold" if cur else "")
            line_style = "bold reverse" if cur else ("dim" if status == "pending" else "")
            name = label.lstrip(" ")
            indent = min(len(label) - len(name), label_w // 2)
            line.append(" " * indent)
            line.append(fmt.truncate(name, label_w - indent).ljust(label_w - indent), style=line_style)
            line.append(" " + time_.rjust(time_w), style="bold" if cur else "")
            if class_w:
                line.append("  " + fmt.truncate(klass, class_w).ljust(class_w), style="dim")
                line.append(" " + inputs, style="dim")
            line.truncate(width)
            out.append_text(line)
            out.append("\n")
        out.rstrip()
        return out


class GraphPane(Pane):
    """Nodes of the running prompt (or the last finished one) with state glyphs and timings."""

    number = 2
    label = "Graph"
    can_focus = True

    def compose(self) -> ComposeResult:
        yield Static("", id="graph-note", classes="note")
        yield GraphView(id="graph-view")

    def _note(self, note: Static, msg: str) -> None:
        """Update the note only when it changes (a Static update is a layout refresh)."""
        if msg != getattr(self, "_note_text", None):
            self._note_text = msg
            note.update(Text(msg, style="italic dim"))
            note.display = bool(msg)

    def update_from(self, state: DashboardState, now: float) -> None:
        view = state.running or (state.history[0] if state.history else None)
        note = self.query_one("#graph-note", Static)
        graph = self.query_one(GraphView)
        if view is None:
            self._note(note, "Idle: nothing has run yet.")
            graph.set_rows([])
            self.set_count("")
            return
        rows = graph_rows(view, now)
        graph.set_rows(rows)
        msg = ""
        if not view.mine and not view.detailed:
            msg = "Another client's prompt: its node events go to that client only."
        elif state.running is None:
            msg = f"Last run {fmt.short_id(view.prompt_id)} · {view.status}"
        elif not view.mine:
            msg = "Another client's prompt (no client id): its progress is broadcast."
        self._note(note, msg)
        self.set_count(f"{fmt.short_id(view.prompt_id)} · {view.nodes_done}/{view.nodes_total or len(rows)} nodes")
