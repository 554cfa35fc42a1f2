"""One prompt in detail: inputs, per-node timings, the error with traceback, and its output images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from comfytui.ui import fmt
from comfytui.ui.keymap import DETAIL_BINDINGS
from comfytui.ui.widgets.image import ImageView

if TYPE_CHECKING:
    from comfytui.core.state import PromptView
    from comfytui.ui.app import ComfyTUIApp

MAX_IMAGES = 4


def save_dir() -> Path:
    """Where `s` saves outputs: $COMFYTUI_SAVE_DIR or ./comfytui-outputs."""
    return Path(os.environ.get("COMFYTUI_SAVE_DIR") or Path.cwd() / "comfytui-outputs")


def summary(view: PromptView) -> Text:
    glyph, style = fmt.PROMPT_GLYPHS.get(view.status, ("?", "dim"))
    text = Text()
    text.append(f"{glyph} {view.status}", style=style)
    text.append(f"  #{fmt.number(view.number)}  {view.prompt_id}", style="bold")
    text.append(f"   {view.title}\n")
    text.append(f"duration {fmt.duration(view.duration)} · {len(view.outputs)} output(s) · ", style="dim")
    if view.mine:
        text.append("submitted by this app")
    elif view.detailed:
        text.append("submitted by another client without a client id (its progress was broadcast)")
    else:
        text.append("submitted by another client (no per-node events)")
    return text


def inputs_table(view: PromptView) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    found = fmt.prompt_inputs(view.prompt if isinstance(view.prompt, dict) else {})
    if not found:
        table.add_row("inputs", Text("(no prompt recorded)", style="dim"))
    for key, value in found.items():
        table.add_row(key, value)
    return table


def timings_table(view: PromptView) -> Table:
    table = Table(box=None, pad_edge=False, expand=True, show_edge=False)
    table.add_column(" ", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("node")
    table.add_column("time", justify="right", no_wrap=True)
    if not view.nodes:
        table.add_row("", "", Text("per-node timings are only known for prompts this app submitted", style="dim"), "")
    for nid, node in view.nodes.items():
        glyph, style = fmt.NODE_GLYPHS.get(node.status, ("?", "dim"))
        name = node.title or node.class_type
        if node.class_type and name != node.class_type:
            name = f"{name} ({node.class_type})"
        when = "cached" if node.status == "cached" else fmt.duration(node.duration)
        table.add_row(Text(glyph, style=style), nid, name, when)
    return table


def error_text(view: PromptView) -> Text | None:
    err = view.error
    if not err:
        return None
    text = Text()
    text.append(f"{err.get('exception_type', 'Error')}: {err.get('exception_message', '')}\n", style="bold red")
    if err.get("node_id"):
        text.append(f"in node {err.get('node_id')} ({err.get('node_type', '?')})\n", style="red")
    tb = "".join(str(x) for x in err.get("traceback") or ())
    # Python's ^^^^ markers point at columns; wrapped to the pane they only add noise
    lines = [line for line in tb.splitlines(keepends=True) if line.strip(" ^~\n")]
    text.append("".join(lines), style="dim")
    return text


class DetailScreen(Screen[None]):
    """Opened from the history pane (Enter). `s` saves the outputs, `r` re-runs, Esc goes back."""

    BINDINGS = DETAIL_BINDINGS

    def __init__(self, prompt_id: str) -> None:
        super().__init__()
        self.prompt_id = prompt_id
        self.images: dict[int, bytes] = {}

    @property
    def dash(self) -> ComfyTUIApp:
        return cast("ComfyTUIApp", self.app)

    def view(self) -> PromptView | None:
        return self.dash.find_prompt(self.prompt_id)

    def compose(self) -> ComposeResult:
        view = self.view()
        yield Static(summary(view) if view else Text(f"unknown prompt {self.prompt_id}"), id="detail-summary")
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-left"):
                yield Static(Text("Inputs", style="bold underline"))
                yield Static(inputs_table(view) if view else "", id="detail-inputs")
                yield Static(Text("\nNodes", style="bold underline"))
                yield Static(timings_table(view) if view else "", id="detail-nodes")
                err = error_text(view) if view else None
                if err is not None:
                    yield Static(Text("\nError", style="bold underline red"))
                    yield Static(err, id="detail-error")
            with Vertical(id="detail-images"):
                outputs = view.outputs[:MAX_IMAGES] if view else []
                if not outputs:
                    yield Static(Text("no output images", style="dim italic"), id="detail-noimages")
                for i, (nid, f) in enumerate(outputs):
                    yield Static(Text(f"{f.filename}  (node {nid}, {f.type})", style="dim"), classes="image-caption")
                    yield ImageView(placeholder="loading…", id=f"detail-image-{i}")
        yield Footer()

    def on_mount(self) -> None:
        view = self.view()
        if view is not None and view.outputs:
            self.load_images(view)

    @work(group="detail-images", exit_on_error=False)
    async def load_images(self, view: PromptView) -> None:
        """Fetch each output through the session and draw it."""
        for i, (_nid, f) in enumerate(view.outputs[:MAX_IMAGES]):
            try:
                data = await self.dash.fetch_output(f)
            except Exception as exc:
                self.query_one(f"#detail-image-{i}", ImageView).set_placeholder(f"cannot fetch: {exc}")
                continue
            self.images[i] = data
            self.query_one(f"#detail-image-{i}", ImageView).show(data)

    def action_save_outputs(self) -> None:
        self.save_outputs()

    @work(group="detail-save", exit_on_error=False)
    async def save_outputs(self) -> None:
        """Write every output file to the save folder (fetching the ones not loaded yet)."""
        view = self.view()
        if view is None or not view.outputs:
            self.notify("Nothing to save", severity="warning")
            return
        folder = save_dir() / view.prompt_id[:8]
        folder.mkdir(parents=True, exist_ok=True)
        saved: list[str] = []
        for i, (_nid, f) in enumerate(view.outputs):
            data = self.images.get(i)
            if data is None:
                data = await self.dash.fetch_output(f)
            target = folder / Path(f.filename).name
            target.write_bytes(data)
            saved.append(target.name)
        self.notify(f"Saved {len(saved)} file(s) to {folder}", title="Saved")

    def action_rerun(self) -> None:
        self.dash.rerun(self.prompt_id, new_seed=False)

    def action_edit_prompt(self) -> None:
        self.dash.edit_prompt(self.prompt_id)
