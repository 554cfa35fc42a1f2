"""Every key binding of the dashboard, each with an id (users can remap ids through Textual's keymap)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from textual.binding import Binding, BindingType

APP_BINDINGS: list[BindingType] = [
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
    Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=False),
    Binding("1", "focus_pane('queue')", "Queue", id="app.focus.queue", show=False),
    Binding("2", "focus_pane('graph')", "Graph", id="app.focus.graph", show=False),
    Binding("3", "focus_pane('progress')", "Progress", id="app.focus.progress", show=False),
    Binding("4", "focus_pane('history')", "History", id="app.focus.history", show=False),
    Binding("5", "focus_pane('log')", "Log", id="app.focus.log", show=False),
    Binding("z", "zoom", "Zoom pane", id="app.zoom"),
    Binding("x", "interrupt", "Interrupt", id="app.interrupt"),
    Binding("e", "edit", "Edit workflow", id="app.edit"),
    Binding("ctrl+t", "toggle_theme", "Light/dark", id="app.theme", show=False),
]

QUEUE_BINDINGS: list[BindingType] = [
    Binding("enter", "open_detail", "Details", id="queue.open", show=False),
    Binding("delete,d", "delete_pending", "Delete", id="queue.delete"),
    Binding("f", "move_to_front", "To front", id="queue.front"),
    Binding("C", "clear_pending", "Clear all", id="queue.clear", key_display="shift+c"),
    Binding("r", "app.rerun_selected('queue', False)", "Re-run", id="queue.rerun", show=False),
    Binding(
        "R",
        "app.rerun_selected('queue', True)",
        "Re-run new seed",
        id="queue.rerun_seed",
        key_display="shift+r",
        show=False,
    ),
    Binding("E", "app.edit_selected('queue')", "Edit & rerun", id="queue.edit", key_display="shift+e", show=False),
]

HISTORY_BINDINGS: list[BindingType] = [
    Binding("enter", "open_detail", "Details", id="history.open"),
    Binding("slash", "filter", "Filter", id="history.filter", key_display="/"),
    Binding("r", "rerun", "Re-run", id="history.rerun"),
    Binding("R", "rerun_new_seed", "Re-run new seed", id="history.rerun_seed", key_display="shift+r"),
    Binding("E", "app.edit_selected('history')", "Edit & rerun", id="history.edit", key_display="shift+e"),
]

FILTER_BINDINGS: list[BindingType] = [
    Binding("escape", "clear_filter", "Clear filter", id="history.filter.clear"),
]

DETAIL_BINDINGS: list[BindingType] = [
    Binding("escape,q", "dismiss", "Back", id="detail.back"),
    Binding("s", "save_outputs", "Save images", id="detail.save"),
    Binding("r", "rerun", "Re-run", id="detail.rerun"),
    Binding("e", "edit_prompt", "Edit & rerun", id="detail.edit"),
]

EDITOR_BINDINGS: list[BindingType] = [
    Binding("escape,q", "back", "Back", id="editor.back", key_display="esc"),
    Binding("ctrl+r", "submit(False)", "Submit", id="editor.submit"),
    Binding("ctrl+b", "submit(True)", "Submit to front", id="editor.submit_front"),
    Binding("ctrl+l", "check", "Check", id="editor.check"),
    Binding("ctrl+g", "next_problem", "Next problem", id="editor.next_problem", show=False),
    Binding("ctrl+s", "save", "Save as", id="editor.save"),
    Binding("ctrl+o", "open", "Open", id="editor.open"),
]

LOG_BINDINGS: list[BindingType] = [
    Binding("end,G", "follow", "Follow", id="log.follow"),
]

SECTIONS: list[tuple[str, list[BindingType]]] = [
    ("Everywhere", APP_BINDINGS),
    ("Queue pane (1)", QUEUE_BINDINGS),
    ("History pane (4)", HISTORY_BINDINGS),
    ("History filter", FILTER_BINDINGS),
    ("Prompt details", DETAIL_BINDINGS),
    ("Workflow editor (e)", EDITOR_BINDINGS),
    ("Log pane (5)", LOG_BINDINGS),
]


def user_keymap() -> dict[str, str]:
    """Overrides from the JSON file named by $COMFYTUI_KEYMAP: {"binding id": "key[,key]"}; {} if none or invalid."""
    path = os.environ.get("COMFYTUI_KEYMAP")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
