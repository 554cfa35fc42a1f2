"""`?`: every key binding, grouped, with its id (for the keymap)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from comfytui.ui.keymap import SECTIONS


def key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return " / ".join(k.strip() for k in binding.key.split(","))


def bindings_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_column(style="dim", no_wrap=True)
    for title, bindings in SECTIONS:
        table.add_row(Text(title, style="bold underline"), "", "")
        for b in bindings:
            if not isinstance(b, Binding):
                continue
            table.add_row(key_label(b), b.description, b.id or "")
        table.add_row("", "", "")
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the keys; any of escape / q / ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("comfytui — keys", style="bold"), id="help-title")
            yield Static(bindings_table())
            yield Static(
                Text(
                    "ctrl+p opens the command palette with every action. Prompts marked 'other' were submitted by "
                    "another client: the server sends their per-node events only to that client, so this app shows "
                    "what /queue and /history tell (plus broadcast progress). Remap any key by its id with a JSON "
                    "file named by $COMFYTUI_KEYMAP, e.g. {\"app.help\": \"f1\"}.",
                    style="dim",
                )
            )
