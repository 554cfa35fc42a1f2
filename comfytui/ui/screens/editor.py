"""The workflow editor: nodes on the left, the selected node's inputs on the right, problems next to each input.

Open a file (API or UI format, converted with the server's ``/object_info``) or a prompt from history/the queue,
edit with controls typed by the catalogue, check locally, then submit (or submit to the front). A 400 from
``/prompt`` lands next to the inputs it names. The screen's only way to the server is an ``EditorBackend`` the app
hands over; requests run in workers, and a failure becomes a line in the status bar, never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from comfytui.client.errors import ComfyError, PromptRejected
from comfytui.config import add_recent, without_secrets
from comfytui.core.edit_session import EditSession
from comfytui.core.workflow import Workflow, WorkflowError
from comfytui.ui.keymap import EDITOR_BINDINGS
from comfytui.ui.screens.open_workflow import OpenFileScreen, SavePathScreen, image_candidates
from comfytui.ui.widgets.editor_backend import SERVER_EXTRA, EditorBackend, SessionBackend
from comfytui.ui.widgets.editor_fields import (
    FieldEdited,
    InputRow,
    LinkRow,
    PickFile,
    SeedModeChanged,
)

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["EDITOR_BINDINGS", "EditorScreen", "open_editor", "open_editor_for_prompt", "session_backend"]


NODE_LIST_WIDTH = 36
FORCE_WINDOW = 8.0  # a second submit within this many seconds sends despite local problems


class EditorScreen(Screen[None]):
    """``EditorScreen(backend, path=...)`` or ``EditorScreen(backend, prompt_id=...)``."""

    BINDINGS: ClassVar[list[BindingType]] = EDITOR_BINDINGS

    def __init__(
        self,
        backend: EditorBackend,
        *,
        path: Path | None = None,
        prompt_id: str | None = None,
        session: EditSession | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.path = path
        self.prompt_id = prompt_id
        self.session: EditSession | None = session
        self.node_id: str | None = None
        self.shown_node: str | None = None  # the node whose form is mounted
        self.status_text = Text()
        self.last_result: str | None = None  # prompt id of the last accepted submission
        self.error: str | None = None  # why the last open failed
        self._force_until = 0.0
        self._showing = 0

    # --- layout -----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…", style="dim"), id="editor-title")
        with Horizontal(id="editor-body"):
            yield OptionList(id="editor-nodes")
            with VerticalScroll(id="editor-form"):
                yield Static("", id="editor-node-head")
        yield Static("", id="editor-status")
        yield Footer()

    def on_mount(self) -> None:
        if self.session is not None:
            self._loaded(self.session)
        else:
            self.load()

    # --- loading ----------------------------------------------------------------------------------------------
    @work(group="editor-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Fetch the catalogue and open the file or prompt; problems are shown in place of the form."""
        what = str(self.path) if self.path is not None else f"prompt {self.prompt_id}"
        self._title(Text(f"Opening {what}…", style="dim"))
        try:
            info = await self.backend.object_info()
            if self.path is not None:
                session = EditSession.from_file(self.path, info)
                add_recent(self.path)
            elif self.prompt_id is not None:
                prompt, extra = await self.backend.prompt_of(self.prompt_id)
                origin = f"prompt-{self.prompt_id[:8]}"
                extra = {k: v for k, v in without_secrets(extra).items() if k not in SERVER_EXTRA}
                session = EditSession(Workflow.from_dict(prompt, origin), info, origin=origin, extra_data=extra)
            else:
                raise WorkflowError("nothing to open")
        except WorkflowError as exc:
            self._failed(f"Cannot open {what}", str(exc))
            return
        except ComfyError as exc:
            self._failed(f"Cannot open {what}", str(exc).splitlines()[0])
            return
        except KeyError as exc:
            self._failed(f"Cannot open {what}", str(exc.args[0]) if exc.args else "unknown prompt")
            return
        self._loaded(session)

    def _failed(self, head: str, message: str) -> None:
        self.session = None
        self.error = message
        self._title(Text(head, style="bold red"))
        self.query_one("#editor-nodes", OptionList).clear_options()
        form = self.query_one("#editor-form", VerticalScroll)
        form.remove_children(".input-row, .link-row")
        self.query_one("#editor-node-head", Static).update(Text(f"✗ {message}", style="bold red"))
        self._status(Text("ctrl+o opens another file · Esc goes back", style="dim"))

    def _loaded(self, session: EditSession) -> None:
        self.session = session
        self.error = None
        self.path = session.path
        nodes = self.query_one("#editor-nodes", OptionList)
        nodes.clear_options()
        nodes.add_options([Option(self._node_label(nid), id=nid) for nid, _t, _c in session.nodes()])
        texts = session.current.text_inputs(session.info)
        first = texts[0][0] if texts else next((nid for nid, _t, _c in session.nodes() if session.fields(nid)), None)
        ids = [nid for nid, _t, _c in session.nodes()]
        if ids:
            nodes.highlighted = ids.index(first) if first in ids else 0
        nodes.focus()
        self._refresh_title()
        notes = [n for n in session.notes if n]
        self._status(Text(" · ".join(notes) if notes else "Ready. ctrl+r submits, ctrl+l checks.", style="dim"))

    # --- the node list ----------------------------------------------------------------------------------------
    def _node_label(self, node_id: str) -> Text:
        s = self.session
        assert s is not None
        text = Text()
        if s.node_has_problems(node_id):
            text.append("✗ ", style="bold red")
        elif s.node_changed(node_id):
            text.append("● ", style="bold yellow")
        else:
            text.append("  ")
        text.append(f"{node_id:>3} ", style="bold")
        title, cls = s.current.title(node_id), s.current.class_type(node_id)
        text.append(title)
        if title != cls:
            text.append(f"  {cls}", style="dim")
        text.truncate(self._label_width(), overflow="ellipsis")
        return text

    def _label_width(self) -> int:
        width = self.query_one("#editor-nodes", OptionList).scrollable_content_region.width
        return width - 1 if width > 8 else NODE_LIST_WIDTH - 6

    def on_resize(self) -> None:
        self.call_after_refresh(self._refresh_nodes)

    def _refresh_nodes(self) -> None:
        s = self.session
        if s is None:
            return
        nodes = self.query_one("#editor-nodes", OptionList)
        for nid, _t, _c in s.nodes():
            nodes.replace_option_prompt(nid, self._node_label(nid))

    @on(OptionList.OptionHighlighted, "#editor-nodes")
    async def _node_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            await self.show_node(event.option.id)

    @on(OptionList.OptionSelected, "#editor-nodes")
    def _node_selected(self, event: OptionList.OptionSelected) -> None:
        rows = self.query(InputRow)
        if rows:
            control = rows.first().control
            if control is not None:
                control.focus()

    async def show_node(self, node_id: str) -> None:
        """Build the form of one node."""
        s = self.session
        if s is None or node_id not in s.current:
            return
        self.node_id = node_id
        self._showing += 1
        ticket = self._showing
        self.shown_node = None
        form = self.query_one("#editor-form", VerticalScroll)
        await form.remove_children(".input-row, .link-row")
        if ticket != self._showing:  # another node was picked meanwhile
            return
        self._node_head()
        widgets: list[Any] = [InputRow(f) for f in s.fields(node_id)]
        widgets += [LinkRow(f) for f in s.link_fields(node_id)]
        await form.mount_all(widgets)
        form.scroll_home(animate=False)
        if ticket == self._showing:
            self.shown_node = node_id

    def _node_head(self) -> None:
        s, nid = self.session, self.node_id
        if s is None or nid is None:
            return
        text = Text()
        text.append(f"{nid} · {s.current.title(nid)}", style="bold")
        text.append(f"  ({s.current.class_type(nid)})", style="dim")
        if not s.fields(nid):
            text.append("\nno values to edit (only links)", style="dim italic")
        for msg in s.node_problems(nid):
            text.append(f"\n✗ {msg}", style="bold red")
        self.query_one("#editor-node-head", Static).update(text)

    def _refresh_rows(self, *, values: set[str] | None = None) -> None:
        """Repaint the visible rows from the model (``values``: input names whose control value changes too)."""
        s, nid = self.session, self.node_id
        if s is None or nid is None:
            return
        fields = {f.name: f for f in s.fields(nid)}
        for row in self.query(InputRow):
            f = fields.get(row.input_name)
            if f is not None:
                row.show(f, value_too=bool(values and row.input_name in values))
        links = {f.name: f for f in s.link_fields(nid)}
        for link in self.query(LinkRow):
            lf = links.get(link.input_name)
            if lf is not None:
                link.show(lf)
        self._node_head()

    def _refresh_all(self, *, values: set[str] | None = None) -> None:
        self._refresh_rows(values=values)
        self._refresh_nodes()
        self._refresh_title()

    # --- title and status -------------------------------------------------------------------------------------
    def _title(self, text: Text) -> None:
        self.query_one("#editor-title", Static).update(text)

    def _refresh_title(self) -> None:
        s = self.session
        if s is None:
            return
        text = Text()
        text.append("Editing ", style="dim")
        text.append(s.origin, style="bold")
        text.append(f"  {len(s.current)} nodes", style="dim")
        n_changed = len(s.changes())
        if n_changed:
            text.append(f"  ● {n_changed} changed from the file", style="yellow")
        n_problems = len(s.check())
        if n_problems:
            text.append(f"  ✗ {n_problems} problem{'s' if n_problems != 1 else ''}", style="bold red")
        if s.server_problems:
            text.append("  ✗ rejected by the server", style="bold red")
        self._title(text)

    def _status(self, text: Text) -> None:
        self.status_text = text
        self.query_one("#editor-status", Static).update(text)

    # --- edits ------------------------------------------------------------------------------------------------
    @on(FieldEdited)
    def _edited(self, event: FieldEdited) -> None:
        s = self.session
        if s is None or event.node_id not in s.current:
            return
        if event.has_value:
            s.set_value(event.node_id, event.name, event.value)
        elif event.text is not None:
            s.set_text(event.node_id, event.name, event.text)
        self._force_until = 0.0
        self._refresh_all()

    @on(SeedModeChanged)
    def _seed_mode(self, event: SeedModeChanged) -> None:
        if self.session is not None:
            self.session.set_seed_mode(event.node_id, event.name, event.mode)

    @on(PickFile)
    def _pick_file(self, event: PickFile) -> None:
        node_id, name = event.node_id, event.name

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.upload(node_id, name, path)

        title = f"Upload an image for node {node_id} '{name}'"
        self.app.push_screen(OpenFileScreen(title, image_candidates()), chosen)

    @work(group="editor-upload", exit_on_error=False)
    async def upload(self, node_id: str, name: str, path: Path) -> None:
        """Upload a local file and point the input at the uploaded name."""
        self._status(Text(f"Uploading {path.name}…", style="dim"))
        try:
            uploaded = await self.backend.upload_image(path)
        except (ComfyError, OSError) as exc:
            self._status(Text(f"✗ upload failed: {str(exc).splitlines()[0]}", style="bold red"))
            return
        s = self.session
        if s is None:
            return
        s.set_value(node_id, name, uploaded.annotated)
        if self.node_id == node_id:
            self._refresh_all(values={name})
        else:
            self._refresh_all()
        self._status(Text(f"Uploaded {path.name} as {uploaded.annotated}", style="green"))

    # --- checking and submitting ------------------------------------------------------------------------------
    def action_check(self) -> None:
        s = self.session
        if s is None:
            return
        problems = s.check()
        self._refresh_all()
        if problems:
            self._status(Text(f"✗ {len(problems)} problem(s): {problems[0]}", style="bold red"))
            self.action_next_problem()
        else:
            self._status(Text("✓ no problems found (types, bounds, links)", style="green"))

    def action_next_problem(self) -> None:
        s = self.session
        if s is None:
            return
        ids = [nid for nid, _t, _c in s.nodes() if s.node_has_problems(nid)]
        if not ids:
            return
        after = [nid for nid in ids if self.node_id is None or _order(s, nid) > _order(s, self.node_id)]
        target = (after or ids)[0]
        if target == self.node_id and len(ids) == 1:
            self._focus_problem()
            return
        nodes = self.query_one("#editor-nodes", OptionList)
        nodes.highlighted = nodes.get_option_index(target)
        self.call_after_refresh(self._focus_problem)

    def _focus_problem(self) -> None:
        for row in self.query(InputRow):
            if row.has_class("-problem") and row.control is not None:
                row.control.focus()
                row.scroll_visible()
                return

    def action_submit(self, front: bool = False) -> None:
        s = self.session
        if s is None:
            return
        problems = s.check()
        now = time.monotonic()
        if problems and now > self._force_until:
            self._force_until = now + FORCE_WINDOW
            self._refresh_all()
            key = "ctrl+b" if front else "ctrl+r"
            self._status(
                Text(
                    f"✗ {len(problems)} problem(s) found before sending: {problems[0]}. "
                    f"Fix them, or press {key} again to let the server judge.",
                    style="bold red",
                )
            )
            self.action_next_problem()
            return
        self._force_until = 0.0
        self.send(front)

    @work(group="editor-submit", exit_on_error=False)
    async def send(self, front: bool) -> None:
        """POST the edited prompt; a 400 is pinned to the inputs it names."""
        s = self.session
        if s is None:
            return
        self._status(Text("Submitting…", style="dim"))
        try:
            extra = dict(s.extra_data)
            if s.changes():
                extra.pop("extra_pnginfo", None)  # the page's workflow no longer matches the graph
            result = await self.backend.submit(s.prompt(), front=front, extra_data=extra)
        except PromptRejected as exc:
            s.apply_rejection(exc.node_errors, exc.error)
            self._refresh_all()
            where = ", ".join(
                f"node {e.node_id}" + (f" '{e.input_name}'" if e.input_name else "") for e in exc.errors[:3]
            )
            head = f"✗ the server rejected the prompt ({exc.type})"
            if where:
                head += f": see {where}"
            elif s.server_message:
                head += f": {s.server_message}"
            self._status(Text(head, style="bold red"))
            self.action_next_problem()
            return
        except ComfyError as exc:
            self._status(Text(f"✗ {str(exc).splitlines()[0]}", style="bold red"))
            return
        s.clear_server_problems()
        self.last_result = result.prompt_id
        rolled = s.after_submit()
        self._refresh_all(values={name for nid, name, _ in rolled if nid == self.node_id})
        where = "at the front of the queue" if front else ""
        text = Text(f"✓ queued {result.prompt_id[:8]} {where}".rstrip(), style="green")
        if rolled:
            text.append("  · next seed " + ", ".join(str(v) for _n, _i, v in rolled), style="dim")
        if result.node_errors:
            text.append(f"  · some outputs were dropped: {', '.join(result.node_errors)}", style="yellow")
        self._status(text)

    # --- files ------------------------------------------------------------------------------------------------
    def action_save(self) -> None:
        s = self.session
        if s is None:
            return

        def chosen(path: Path | None) -> None:
            if path is None or self.session is None:
                return
            try:
                written = self.session.save(path)
            except WorkflowError as exc:
                self._status(Text(f"✗ {exc}", style="bold red"))
                return
            self._status(Text(f"✓ saved {written} (API format)", style="green"))

        self.app.push_screen(SavePathScreen(s.suggested_save_path()), chosen)

    def action_open(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.path, self.prompt_id = path, None
                self.load()

        self.app.push_screen(OpenFileScreen(), chosen)

    def action_back(self) -> None:
        self.dismiss(None)


def _order(session: EditSession, node_id: str) -> int:
    ids = [nid for nid, _t, _c in session.nodes()]
    return ids.index(node_id) if node_id in ids else -1


def _backend_of(app: App[Any]) -> EditorBackend | None:
    """The app's editor backend: ``app.editor_backend`` if set, else one over its LiveSession."""
    backend: EditorBackend | None = getattr(app, "editor_backend", None)
    if backend is not None:
        return backend
    backend = session_backend(app)
    if backend is None:
        app.notify("Not connected to a server: the editor needs one", severity="warning")
    return backend


def session_backend(app: App[Any]) -> SessionBackend | None:
    """The app's ``SessionBackend`` (made on first use, with the configured API key); None without a session."""
    backend = getattr(app, "editor_backend", None)
    if isinstance(backend, SessionBackend):
        return backend
    session = getattr(app, "session", None)
    if session is None:
        return None
    from comfytui.config import load_config_quietly

    made = SessionBackend(session, api_key=load_config_quietly().api_key)
    app.editor_backend = made  # type: ignore[attr-defined]
    return made


def open_editor(app: App[Any], path: Path | None = None) -> None:
    """Open ``path`` in the editor, or ask for a file first."""
    if path is None and isinstance(app.screen, EditorScreen):
        app.screen.action_open()  # already editing: open another file in place
        return
    backend = _backend_of(app)
    if backend is None:
        return
    if path is not None:
        app.push_screen(EditorScreen(backend, path=Path(path)))
        return

    def chosen(picked: Path | None) -> None:
        if picked is not None:
            app.push_screen(EditorScreen(backend, path=picked))

    app.push_screen(OpenFileScreen(), chosen)


def open_editor_for_prompt(app: App[Any], prompt_id: str) -> None:
    """Open a prompt from history or the queue (any client's) in the editor."""
    backend = _backend_of(app)
    if backend is not None:
        app.push_screen(EditorScreen(backend, prompt_id=prompt_id))
