"""Progress pane: the current node's step bar, the prompt's node count, and the live latent preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from comfytui.ui import fmt
from comfytui.ui.widgets.base import Pane, seconds
from comfytui.ui.widgets.image import ImageView

if TYPE_CHECKING:
    from comfytui.core.state import DashboardState


@dataclass(frozen=True, slots=True)
class Bars:
    """What the bars show (plain data, so equal frames are skipped)."""

    title: str = ""
    node: str = ""
    value: float = 0
    max: float = 0
    rate: float | None = None
    eta: float | None = None
    done: int = 0
    total: int = 0
    elapsed: float | None = None
    note: str = ""
    stale: bool = False  # the connection is down: the last known progress


class ProgressBars(Widget):
    """Text bars drawn to the widget's width."""

    DEFAULT_CSS = """
    ProgressBars { height: 4; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.bars = Bars()

    def set_bars(self, bars: Bars) -> None:
        if bars != self.bars:
            self.bars = bars
            self.refresh()

    def render(self) -> Group:
        b = self.bars
        width = max(20, self.size.width)
        if not b.title:
            return Group(Text(b.note or "Idle", style="dim italic"))
        head = Text(fmt.truncate(b.title, width), style="bold")
        label = fmt.truncate(b.node or "step", 16).ljust(16)
        step_tail = f" {b.value:g}/{b.max:g}" if b.max else " -"
        step_bar_w = max(4, width - len(label) - len(step_tail) - 1)
        step = Text(label + " ")
        step.append(fmt.bar(b.value, b.max, step_bar_w), style="bold cyan")
        step.append(step_tail)
        rate = f"{b.rate:.2f} it/s" if b.rate else "- it/s"
        eta = f"ETA {fmt.duration(b.eta)}" if b.eta is not None else "ETA -"
        elapsed = f"elapsed {fmt.duration(b.elapsed)}" if b.elapsed is not None else ""
        info = Text(f"{rate}  {eta}  {elapsed}".rstrip(), style="dim")
        if b.stale:
            info = Text("last known progress: the connection is down", style="italic yellow")
        nodes_label = "nodes".ljust(16)
        nodes_tail = f" {b.done}/{b.total}"
        nodes = Text(nodes_label + " ")
        nodes.append(fmt.bar(b.done, b.total, max(4, width - 17 - len(nodes_tail))), style="bold green")
        nodes.append(nodes_tail)
        return Group(head, step, info, nodes)


class ProgressPane(Pane):
    """Step progress, node progress and the live preview of the running prompt."""

    number = 3
    label = "Progress"
    can_focus = True

    def compose(self) -> ComposeResult:
        yield ProgressBars(id="progress-bars")
        yield ImageView(placeholder="no preview yet", id="preview")

    def update_from(self, state: DashboardState, now: float) -> None:
        view = state.running
        bars = self.query_one(ProgressBars)
        preview = self.query_one(ImageView)
        prog = state.progress
        if view is None and prog is None:
            bars.set_bars(Bars(note="Idle: the queue is empty."))
            preview.show(None)
            self.set_count("")
            return
        pid = view.prompt_id if view is not None else (prog.prompt_id if prog else None)
        title = f"{fmt.short_id(pid or '')}  {view.title}" if view is not None else fmt.short_id(pid or "")
        node_name = ""
        if prog is not None and view is not None and prog.node_id in view.nodes:
            node = view.nodes[prog.node_id]
            node_name = node.title or node.class_type
        elif prog is not None and prog.node_id:
            node_name = f"node {prog.node_id}"
        started = seconds(view.started) if view is not None else None
        live = state.connection.state == "connected"
        bars.set_bars(
            Bars(
                title=title,
                node=node_name,
                value=prog.value if prog else 0,
                max=prog.max if prog else 0,
                rate=prog.rate if prog and live else None,
                eta=prog.eta if prog and live else None,
                done=view.nodes_done if view is not None else 0,
                total=view.nodes_total if view is not None else 0,
                elapsed=(now - started) if started and live else None,
                stale=not live,  # no news while the socket is down: the last known step, no clock running on
            )
        )
        frame = state.preview_for(pid)  # broadcast frames (prompts without a client id) are filed under the running one
        preview.show(frame.image if frame is not None else None)
        self.set_count(fmt.short_id(pid or ""))
