"""The dashboard app: one LiveSession feeds the state; panes repaint from it, coalesced to ≤ 30 frames/s."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.containers import Container
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Log
from textual.worker import Worker, WorkerState

from comfytui.ui.commands import DashboardCommands
from comfytui.ui.keymap import APP_BINDINGS, user_keymap
from comfytui.ui.screens.confirm import ConfirmScreen
from comfytui.ui.screens.detail import DetailScreen
from comfytui.ui.screens.editor import open_editor, open_editor_for_prompt, session_backend
from comfytui.ui.screens.help import HelpScreen
from comfytui.ui.widgets.base import Pane
from comfytui.ui.widgets.graph import GraphPane
from comfytui.ui.widgets.header import HeaderBar
from comfytui.ui.widgets.history import HistoryPane
from comfytui.ui.widgets.log import LogPane
from comfytui.ui.widgets.progress import ProgressPane
from comfytui.ui.widgets.queue import QueuePane
from comfytui.ui.widgets.vtable import VirtualTable

if TYPE_CHECKING:
    from comfytui.client.models import OutputFile
    from comfytui.core.state import DashboardState, PromptView
    from comfytui.live import LiveSession

PANES: dict[str, type[Pane]] = {
    "queue": QueuePane,
    "graph": GraphPane,
    "progress": ProgressPane,
    "history": HistoryPane,
    "log": LogPane,
}

# which panes depend on which state areas
AREAS_OF: dict[str, frozenset[str]] = {
    "header": frozenset({"connection", "stats", "queue"}),
    "queue": frozenset({"queue"}),
    "graph": frozenset({"graph", "queue", "history"}),
    "progress": frozenset({"progress", "preview", "graph", "queue"}),
    "history": frozenset({"history"}),
    "log": frozenset({"logs"}),
}
ALL_AREAS = frozenset().union(*AREAS_OF.values())


class ComfyTUIApp(App[int]):
    """`ComfyTUIApp(server)` runs live; `state=` shows a fixed state (tests, snapshots) with no network."""

    CSS_PATH = "comfytui.tcss"
    TITLE = "comfytui"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {DashboardCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012

    def __init__(
        self,
        server: str,
        *,
        auth: str | None = None,
        state: DashboardState | None = None,
        session: LiveSession | None = None,
        clock: Callable[[], float] = time.time,
        max_fps: float = 30.0,
    ) -> None:
        super().__init__()
        self.server = server
        self.auth = auth
        self.clock = clock
        self.session: LiveSession | None = session
        self._fixed_state = state
        if state is None and session is None:
            from comfytui.live import LiveSession

            self.session = LiveSession(server, auth=auth, on_change=self.on_session_change)
        elif session is not None:
            session.on_change = self.on_session_change
        self._min_interval = 1.0 / max_fps
        self._dirty: set[str] = set(ALL_AREAS)
        self._flush_timer: Timer | None = None
        self._last_flush = 0.0
        self.frames = 0
        self.first_paint: float | None = None
        self.on_flush: Callable[[], None] | None = None  # test/bench hook, called after each repaint

    # -- state ---------------------------------------------------------------------------------------------------

    @property
    def state(self) -> DashboardState:
        if self._fixed_state is not None:
            return self._fixed_state
        assert self.session is not None
        return self.session.state

    def now(self) -> float:
        return self.clock()

    def find_prompt(self, prompt_id: str) -> PromptView | None:
        return self.state.get(prompt_id)

    # -- layout --------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.header = HeaderBar(self.server, id="header")
        self.panes = {name: cls(id=name) for name, cls in PANES.items()}
        yield self.header
        with Container(id="panes"):
            yield from self.panes.values()
        yield Footer()

    def on_mount(self) -> None:
        keymap = user_keymap()
        if keymap:
            self.set_keymap(keymap)
        self.flush()
        self.set_interval(1.0, self._tick, name="tick")
        if self.session is not None:
            self.run_worker(self._run_session(), group="session", name="session", exit_on_error=False)
        self.query_one("#queue-table").focus()
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        if self.first_paint is None:
            self.first_paint = time.perf_counter()

    async def _run_session(self) -> None:
        assert self.session is not None
        await self.session.run()

    async def on_unmount(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.stop()

    # -- repaint coalescing ------------------------------------------------------------------------------------

    def on_session_change(self, dirty: set[str]) -> None:
        """Called by the session for every change; schedules at most one repaint per frame interval."""
        self._dirty |= dirty
        if self._flush_timer is None:
            delay = max(0.002, self._last_flush + self._min_interval - time.monotonic())
            self._flush_timer = self.set_timer(delay, self.flush, name="flush")

    def flush(self) -> None:
        """Repaint every pane whose areas changed (latest state wins)."""
        self._flush_timer = None
        state = self.state
        dirty = self._dirty | state.take_dirty()
        self._dirty = set()
        if not dirty:
            return
        self._last_flush = time.monotonic()
        now = self.now()
        if not self.header.is_attached:  # shutting down
            return
        with self.batch_update():
            if dirty & AREAS_OF["header"]:
                self.header.update_from(state, now)
            for name, pane in self.panes.items():
                if dirty & AREAS_OF[name]:
                    pane.update_from(state, now)
        self.frames += 1
        if self.on_flush is not None:
            self.on_flush()

    def on_resize(self) -> None:
        """Column widths follow the pane sizes: repaint everything."""
        self.on_session_change(set(ALL_AREAS))

    def _tick(self) -> None:
        """Once a second: ages, elapsed times and the reconnect countdown."""
        state = self.state
        areas: set[str] = set()
        if state.connection.state != "connected":
            areas.add("connection")
        if state.running is not None or state.pending:
            areas |= {"queue", "graph", "progress"}
        if areas:
            self.on_session_change(areas)

    # -- errors: one place --------------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            what = worker.name or worker.group
            self.report_error(f"{what}: {worker.error}")

    def report_error(self, message: str) -> None:
        self.notify(message, title="Error", severity="error", timeout=8)

    def act(self, name: str, coro: Coroutine[Any, Any, Any], done: str | None = None) -> None:
        """Run a session action in a worker; failures become a notification, success an optional toast."""

        async def runner() -> None:
            await coro
            if done:
                self.notify(done, timeout=3)

        self.run_worker(runner(), group=f"action-{name}", name=name, exit_on_error=False)

    def _need_session(self) -> LiveSession | None:
        if self.session is None:
            self.notify("Not connected to a server (read-only view)", severity="warning")
        return self.session

    # -- actions (widgets call these; only the session talks to the network) ------------------------------------

    def delete_pending(self, prompt_ids: list[str]) -> None:
        if (s := self._need_session()) is not None:
            self.act("delete", s.delete_pending(prompt_ids), f"Deleted {', '.join(p[:8] for p in prompt_ids)}")

    def move_to_front(self, prompt_id: str) -> None:
        if (s := self._need_session()) is not None:
            self.act("front", s.move_to_front(prompt_id), f"Moved {prompt_id[:8]} to the front")

    def action_clear_pending(self) -> None:
        n = len(self.state.pending)
        if n == 0:
            self.notify("No pending prompts")
            return

        def answered(yes: bool | None) -> None:
            if yes and (s := self._need_session()) is not None:
                self.act("clear", s.clear_pending(), f"Cleared {n} pending prompt(s)")

        self.push_screen(ConfirmScreen(f"Delete all {n} pending prompt(s), from every client?", "Clear"), answered)

    def action_interrupt(self) -> None:
        running = self.state.running
        if running is None:
            self.notify("Nothing is running")
            return
        if (s := self._need_session()) is not None:
            self.act("interrupt", s.interrupt(running.prompt_id), f"Interrupting {running.prompt_id[:8]}")

    def rerun(self, prompt_id: str, new_seed: bool = False) -> None:
        if self._need_session() is not None and (b := session_backend(self)) is not None:
            label = "with a new seed" if new_seed else ""
            # through the editor backend: the configured API key goes back where history hid it
            self.act("rerun", b.rerun(prompt_id, new_seed=new_seed), f"Re-queued {prompt_id[:8]} {label}".strip())

    # -- workflow editor (screens/editor.py) ---------------------------------------------------------------------

    def action_edit(self) -> None:
        """Pick a workflow file and open it in the editor."""
        open_editor(self)

    def edit_file(self, path: Path) -> None:
        open_editor(self, path)

    def edit_prompt(self, prompt_id: str) -> None:
        """Open a prompt from history or the queue (any client's) in the editor."""
        open_editor_for_prompt(self, prompt_id)

    def _selected_in(self, pane: str) -> str | None:
        table = getattr(self.panes.get(pane), "table", None)
        key = getattr(table, "selected_key", None)
        if key is None:
            self.notify("No prompt selected", severity="warning")
        return key if isinstance(key, str) else None

    def action_edit_selected(self, pane: str) -> None:
        if (key := self._selected_in(pane)) is not None:
            self.edit_prompt(key)

    def action_rerun_selected(self, pane: str, new_seed: bool = False) -> None:
        if (key := self._selected_in(pane)) is not None:
            self.rerun(key, new_seed=new_seed)

    def submit_prompt(self, prompt: dict[str, Any], front: bool = False) -> None:
        if (s := self._need_session()) is not None:
            self.act("submit", s.submit(prompt, front=front), "Queued")

    def submit_file(self, path: Path) -> None:
        try:
            prompt = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            self.report_error(f"cannot read {path}: {exc}")
            return
        if isinstance(prompt, dict) and "prompt" in prompt and isinstance(prompt["prompt"], dict):
            prompt = prompt["prompt"]
        self.submit_prompt(prompt)

    def fetch_output(self, f: OutputFile) -> Awaitable[bytes]:
        if self.session is None:
            raise RuntimeError("no server session")
        return self.session.fetch_output(f)

    def open_detail(self, prompt_id: str) -> None:
        if self.find_prompt(prompt_id) is None:
            self.notify(f"Unknown prompt {prompt_id[:8]}", severity="warning")
            return
        self.push_screen(DetailScreen(prompt_id))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_focus_pane(self, name: str) -> None:
        pane = self.panes[name]
        if self.screen is not pane.screen:
            return
        focusable = (DataTable, Log, VirtualTable)
        targets = [w for w in pane.query("DataTable, Log, VirtualTable") if isinstance(w, focusable)]
        target: Widget = targets[0] if targets else pane
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self._restore()
        if not pane.region.area:  # hidden by the narrow layout (the log): show it zoomed
            pane.add_class("-unhidden")
            self.screen.maximize(pane, container=False)
        target.focus()

    def _restore(self) -> None:
        self.screen.minimize()
        for pane in self.panes.values():
            pane.remove_class("-unhidden")

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self._restore()
            return
        focused = self.focused
        node = focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, Pane):
            self.screen.maximize(node, container=False)

    def action_save_svg(self) -> None:
        path = self.save_screenshot()
        self.notify(f"Saved {path}")


def run_dashboard(server: str, auth: str | None = None) -> int:
    """Run the dashboard until the user quits; the exit code."""
    app = ComfyTUIApp(server, auth=auth)
    app.run()
    return int(app.return_code or 0)
