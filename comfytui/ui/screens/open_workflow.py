"""Pick a file: a path field plus a list (recent workflows, ``workflows/``, images nearby). Also the save-as prompt.

``OpenFileScreen`` dismisses with the chosen ``Path`` (or ``None`` on Esc); the caller does the loading.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from comfytui.config import load_config_quietly, load_recent

__all__ = ["IMAGE_SUFFIXES", "OpenFileScreen", "SavePathScreen", "image_candidates", "workflow_candidates"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_LISTED = 200


def workflow_candidates(cwd: Path | None = None) -> list[tuple[Path, str]]:
    """``(path, note)``: recent files first, then the configured folder, ``./workflows`` and ``.``."""
    base = cwd or Path.cwd()
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(paths: Iterable[Path], note: str) -> None:
        for p in paths:
            key = p.resolve()
            if key not in seen and len(out) < MAX_LISTED:
                seen.add(key)
                out.append((p, note))

    add((p for p in load_recent() if p.is_file()), "recent")
    folders = [base / "workflows", base]
    configured = load_config_quietly().workflows_dir
    if configured is not None:
        folders.insert(0, configured)
    for folder in folders:
        if folder.is_dir():
            add(sorted(p for p in folder.glob("*.json") if p.is_file()), "")
    return out


def image_candidates(cwd: Path | None = None) -> list[tuple[Path, str]]:
    """Images in the working folder and a few usual subfolders."""
    base = cwd or Path.cwd()
    out: list[tuple[Path, str]] = []
    for folder in (base, base / "inputs", base / "images", base / "outputs"):
        if folder.is_dir():
            out.extend((p, "") for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES)
    return out[:MAX_LISTED]


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


class OpenFileScreen(ModalScreen[Path | None]):
    """Type a path or pick one from the list; Enter opens, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="open.cancel", key_display="esc"),
        Binding("down", "to_list", "List", show=False, id="open.list"),
    ]

    def __init__(
        self,
        title: str = "Open a workflow (API or UI format)",
        candidates: list[tuple[Path, str]] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.cwd = Path.cwd()
        self.candidates = workflow_candidates(self.cwd) if candidates is None else candidates

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box", classes="file-box"):
            yield Static(Text(self.title_text, style="bold"), id="open-title")
            yield Input(placeholder="path to a file (Enter opens)", id="open-path")
            yield Static("", id="open-error", classes="file-error")
            options = []
            for i, (path, note) in enumerate(self.candidates):
                label = Text(_display(path, self.cwd))
                if note:
                    label.append(f"  {note}", style="dim italic")
                options.append(Option(label, id=str(i)))
            yield OptionList(*options, id="open-list")
            yield Static(Text("Enter: open · ↓: the list · Esc: cancel", style="dim"), id="open-hint")

    def on_mount(self) -> None:
        self.query_one("#open-error", Static).display = False
        self.query_one("#open-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_to_list(self) -> None:
        options = self.query_one("#open-list", OptionList)
        if options.option_count:
            options.focus()
            if options.highlighted is None:
                options.highlighted = 0

    def _error(self, message: str) -> None:
        err = self.query_one("#open-error", Static)
        err.update(Text(f"✗ {message}", style="bold red"))
        err.display = True

    @on(Input.Submitted, "#open-path")
    def _typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.action_to_list()
            return
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.cwd / path
        if not path.exists():
            self._error(f"{text}: no such file")
            return
        if path.is_dir():
            self._error(f"{text}: is a folder")
            return
        self.dismiss(path)

    @on(OptionList.OptionSelected, "#open-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        self.dismiss(self.candidates[index][0])


class SavePathScreen(ModalScreen[Path | None]):
    """Ask where to save; dismisses with the path (the caller writes it and reports problems)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="save.cancel")]

    def __init__(self, suggested: Path, title: str = "Save as a new API-format workflow") -> None:
        super().__init__()
        self.suggested = suggested
        self.title_text = title

    def compose(self) -> ComposeResult:
        cwd = Path.cwd()
        with Vertical(id="save-box", classes="file-box"):
            yield Static(Text(self.title_text, style="bold"), id="save-title")
            yield Input(value=_display(self.suggested, cwd), id="save-path")
            yield Static(Text("Enter: save · Esc: cancel (the API key is never written)", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#save-path")
    def _typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        path = Path(text).expanduser()
        self.dismiss(path if path.is_absolute() else Path.cwd() / path)
