"""Running graph pane: the running prompt's nodes in execution order, indented by graph depth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from comfytui.ui import fmt
from comfytui.ui.widgets.base import Pane, seconds
from comfytui.ui.widgets.table import Cells, KeyedTable

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState, NodeState, PromptView

COLUMNS = [("state", " "), ("id", "id"), ("node", "node"), ("time", "time"), ("class", "class"), ("inputs", "← from")]


def node_time(node: NodeState, now: float) -> str:
    """Duration when finished, elapsed while running."""
    if node.status == "running" and node.started is not None:
        started = seconds(node.started)
        return fmt.duration(now - started) if started is not None else "-"
    if node.status == "cached":
        return "cached"
    d = node.duration
    return fmt.duration(d) if d is not None else ""


def graph_rows(view: PromptView, now: float, title_w: int = 30) -> list[tuple[str, Cells]]:
    """One row per node; the executing one in bold reverse."""
    prompt = view.prompt if isinstance(view.prompt, dict) else {}
    depths = fmt.node_depths(prompt)
    rows: list[tuple[str, Cells]] = []
    seen: set[str] = set()
    for nid, node in view.nodes.items():
        seen.add(nid)
        glyph, style = fmt.NODE_GLYPHS.get(node.status, ("?", "dim"))
        current = nid == view.current_node or node.status == "running"
        name = fmt.truncate(node.title or node.class_type, title_w)
        label = Text("  " * depths.get(nid, 0) + name)
        klass = "" if node.class_type == node.title else fmt.truncate(node.class_type, 20)
        if current:
            label.stylize("bold reverse")
        elif node.status == "pending":
            label.stylize("dim")
        extra = ""
        if node.status == "running" and node.max:
            extra = f" {node.value:g}/{node.max:g}"
        rows.append(
            (
                nid,
                (
                    Text(glyph, style=style),
                    nid,
                    label,
                    node_time(node, now) + extra,
                    Text(klass, style="dim"),
                    Text(",".join(fmt.upstream(prompt, nid)), style="dim"),
                ),
            )
        )
    for nid, raw in prompt.items():  # nodes the state has not seen (another client's prompt)
        if nid in seen or not isinstance(raw, dict):
            continue
        title = fmt.truncate(str((raw.get("_meta") or {}).get("title") or raw.get("class_type") or "?"), title_w)
        rows.append(
            (
                nid,
                (
                    Text("?", style="dim"),
                    nid,
                    Text("  " * depths.get(nid, 0) + title, style="dim"),
                    "",
                    Text(str(raw.get("class_type", "")), style="dim"),
                    Text(",".join(fmt.upstream(prompt, nid)), style="dim"),
                ),
            )
        )
    return rows


class GraphPane(Pane):
    """Nodes of the running prompt (or the last finished one) with state glyphs and timings."""

    number = 2
    label = "Graph"

    def compose(self) -> ComposeResult:
        yield Static("", id="graph-note", classes="note")
        yield KeyedTable(COLUMNS, id="graph-table")

    def update_from(self, state: DashboardState, now: float) -> None:
        view = state.running or (state.history[0] if state.history else None)
        note = self.query_one("#graph-note", Static)
        table = self.query_one(KeyedTable)
        if view is None:
            note.update("Idle: nothing has run yet.")
            note.display = True
            table.sync([])
            self.set_count("")
            return
        narrow = self.size.width < 70
        tw = self.title_width(1 + 3 + 10, 4, hi=36) if narrow else self.title_width(1 + 3 + 10 + 16 + 6, 6, hi=40)
        table.fit_width(tw)
        rows = graph_rows(view, now, tw)
        table.sync(rows)
        if table.selected_key != view.current_node and view.current_node in table.keys and not table.has_focus:
            table.move_cursor(row=table.keys.index(view.current_node), animate=False)
        msg = ""
        if not view.mine or not view.detailed:
            msg = "Submitted by another client: the server sends per-node events only to the submitter."
        elif state.running is None:
            msg = f"Last run {fmt.short_id(view.prompt_id)} · {view.status}"
        note.update(Text(msg, style="italic dim"))
        note.display = bool(msg)
        total = view.nodes_total or len(rows)
        self.set_count(f"{fmt.short_id(view.prompt_id)} · {view.nodes_done}/{total} nodes")
