"""Command palette provider: the app's actions plus "submit workflow" for each JSON file in ./workflows."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from comfytui.ui.app import ComfyTUIApp


def workflow_files(root: Path | None = None) -> list[Path]:
    """API-format workflow candidates: ./workflows/*.json then ./*.json."""
    base = root or Path.cwd()
    found = sorted((base / "workflows").glob("*.json")) + sorted(base.glob("*.json"))
    return found[:50]


class DashboardCommands(Provider):
    """Every dashboard action by name."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = cast("ComfyTUIApp", self.app)
        items: list[tuple[str, Callable[[], object], str]] = [
            ("Interrupt the running prompt", app.action_interrupt, "POST /interrupt for the running prompt"),
            ("Clear all pending prompts", app.action_clear_pending, "asks for confirmation"),
            ("Help: list keys", app.action_help, "the ? screen"),
            ("Toggle light / dark theme", app.action_toggle_theme, "readable in both"),
            ("Zoom the focused pane", app.action_zoom, "z again to restore"),
            ("Focus queue pane", partial(app.action_focus_pane, "queue"), "1"),
            ("Focus graph pane", partial(app.action_focus_pane, "graph"), "2"),
            ("Focus progress pane", partial(app.action_focus_pane, "progress"), "3"),
            ("Focus history pane", partial(app.action_focus_pane, "history"), "4"),
            ("Focus log pane", partial(app.action_focus_pane, "log"), "5"),
            ("Save screenshot (SVG)", app.action_save_svg, "into the current folder"),
            ("Edit a workflow…", app.action_edit, "open a file (API or UI format) in the editor (e)"),
            ("Quit", app.action_quit, "q"),
        ]
        for path in workflow_files():
            items.append((f"Submit workflow {path.name}", partial(app.submit_file, path), str(path)))
            items.append((f"Edit workflow {path.name}", partial(app.edit_file, path), str(path)))
        return items

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
