"""Pilot tests of the dashboard against the real ComfyUI test bed."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from comfytui.testbed import ComfyServer
from comfytui.ui.app import ComfyTUIApp
from comfytui.ui.screens.confirm import ConfirmScreen
from comfytui.ui.screens.detail import DetailScreen
from comfytui.ui.widgets.graph import GraphView
from comfytui.ui.widgets.header import HeaderBar
from comfytui.ui.widgets.image import ImageView
from comfytui.ui.widgets.table import KeyedTable
from comfytui.ui.widgets.vtable import VirtualTable
from tests.ui.helpers import until

pytestmark = pytest.mark.server

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def workflow(name: str, text: str) -> dict[str, Any]:
    """A workflow with a fresh seed (so the server's cache does not skip it) and its own prompt text."""
    prompt: dict[str, Any] = json.loads((WORKFLOWS / name).read_text())
    for node in prompt.values():
        inputs = node.get("inputs", {})
        if node.get("class_type", "").startswith("KSampler"):
            inputs["seed"] = random.randrange(1, 2**40)
        if node.get("_meta", {}).get("title") == "Positive":
            inputs["text"] = text
    return prompt


class Outsider:
    """Another client: plain httpx with its own client id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client_id = "outsider-" + uuid.uuid4().hex[:8]

    def submit(self, name: str, text: str) -> str:
        r = httpx.post(f"{self.url}/prompt", json={"prompt": workflow(name, text), "client_id": self.client_id})
        r.raise_for_status()
        return str(r.json()["prompt_id"])

    def clean(self) -> None:
        httpx.post(f"{self.url}/queue", json={"clear": True})
        httpx.post(f"{self.url}/interrupt", json={})


def queue_table(app: ComfyTUIApp) -> KeyedTable:
    return app.query_one("#queue-table", KeyedTable)


def history_table(app: ComfyTUIApp) -> VirtualTable:
    return app.query_one("#history-table", VirtualTable)


@pytest.fixture
async def outsider(comfy_url: str) -> AsyncIterator[Outsider]:
    o = Outsider(comfy_url)
    o.clean()
    yield o
    o.clean()


async def connected(app: ComfyTUIApp, pilot: Any) -> None:
    await until(pilot, lambda: app.state.connection.state == "connected", 20)


async def test_outside_prompt_appears_runs_and_lands_in_history(comfy_url: str, outsider: Outsider) -> None:
    app = ComfyTUIApp(comfy_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        slow = outsider.submit("tiny_slow.json", "outside slow")
        quick = outsider.submit("tiny_txt2img.json", "outside quick")
        await until(pilot, lambda: {slow, quick} <= set(queue_table(app).keys), 20)
        assert "other" in queue_table(app).text(quick)
        assert "outside quick" in queue_table(app).text(quick)
        await pilot.press("x")  # interrupt the running (outside) prompt from the dashboard
        await until(pilot, lambda: {slow, quick} <= set(history_table(app).keys), 60)
        assert "interrupted" in history_table(app).text(slow)
        assert "success" in history_table(app).text(quick)
        assert not queue_table(app).keys


async def test_app_submit_shows_nodes_progress_preview_then_interrupt(comfy_url: str, outsider: Outsider) -> None:
    app = ComfyTUIApp(comfy_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        app.submit_prompt(workflow("tiny_slow.json", "from the app"))
        await until(pilot, lambda: app.state.running is not None and app.state.running.mine, 20)
        running = app.state.running
        assert running is not None
        graph = app.query_one("#graph-view", GraphView)
        await until(pilot, lambda: app.state.progress is not None and app.state.progress.value >= 2, 30)
        await until(pilot, lambda: app.query_one("#preview", ImageView).frames_drawn > 0, 30)
        await until(pilot, lambda: any("▶" in graph.text(k) for k in graph.keys), 10)
        assert "KSampler" in graph.text("5")
        assert any("◇" in graph.text(k) or "✔" in graph.text(k) for k in graph.keys)
        assert "me" in queue_table(app).text(running.prompt_id)
        pid = running.prompt_id
        await pilot.press("x")
        await until(pilot, lambda: pid in history_table(app).keys, 30)
        assert "interrupted" in history_table(app).text(pid)


async def test_detail_view_shows_outputs_and_saves(
    comfy_url: str, outsider: Outsider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMFYTUI_SAVE_DIR", str(tmp_path))
    app = ComfyTUIApp(comfy_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        title = f"detail view {uuid.uuid4().hex[:6]}"
        app.submit_prompt(workflow("tiny_txt2img.json", title))

        def done() -> str | None:
            for pid in history_table(app).keys:
                view = app.state.get(pid)
                if view is not None and view.title.startswith(title) and view.status == "success" and view.outputs:
                    return pid
            return None

        await until(pilot, lambda: done() is not None, 30)
        pid = done()
        assert pid is not None
        await pilot.press("4")
        history_table(app).move_cursor(row=history_table(app).keys.index(pid))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), 5)
        await until(pilot, lambda: app.screen.query_one("#detail-image-0", ImageView).frames_drawn > 0, 20)
        await pilot.press("s")
        await until(pilot, lambda: any(tmp_path.rglob("*.png")), 10)
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)
        # r re-runs the selected entry: a new prompt of this app with the same graph
        before = len([v for v in app.state.history if v.title.startswith(title)])
        await pilot.press("r")
        count = lambda: len([v for v in app.state.history if v.title.startswith(title) and v.mine])  # noqa: E731
        await until(pilot, lambda: count() > before, 30)


async def test_delete_move_and_clear_pending(comfy_url: str, outsider: Outsider) -> None:
    app = ComfyTUIApp(comfy_url)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        outsider.submit("tiny_slow.json", "blocker")
        ids = [outsider.submit("tiny_txt2img.json", f"pending {i}") for i in range(4)]
        await until(pilot, lambda: set(ids) <= set(queue_table(app).keys), 20)
        table = queue_table(app)
        await pilot.press("1")
        # delete the second pending prompt
        table.move_cursor(row=table.keys.index(ids[1]))
        await pilot.press("d")
        await until(pilot, lambda: ids[1] not in queue_table(app).keys, 20)
        assert ids[1] not in history_table(app).keys
        # move the last one to the front (deleted and queued again with `front`, same id)
        table.move_cursor(row=table.keys.index(ids[3]))
        await pilot.press("f")
        pending_rows = lambda: [k for k in queue_table(app).keys if k in ids]  # noqa: E731
        await until(pilot, lambda: pending_rows() == [ids[3], ids[0], ids[2]], 20)
        assert "pending 3" in queue_table(app).text(ids[3])
        # clear all, with a confirmation: 'n' keeps them, 'y' clears
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert len(app.state.pending) == 3
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5)
        await pilot.press("y")
        await until(pilot, lambda: not app.state.pending, 20)
        running = app.state.running
        assert queue_table(app).keys == ([running.prompt_id] if running else [])


async def test_reconnects_after_server_restart() -> None:
    server = ComfyServer()
    try:
        server.start()
        app = ComfyTUIApp(server.url)
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(app, pilot)
            header = app.query_one(HeaderBar)
            server.stop()
            conn = app.state.connection
            await until(pilot, lambda: conn.state in ("reconnecting", "offline"), 30, lambda: conn)
            shown = lambda: str(header.render())  # noqa: E731
            await until(pilot, lambda: "reconnecting" in shown() or "offline" in shown(), 15, shown)
            server.start()
            await until(pilot, lambda: app.state.connection.state == "connected", 90, lambda: app.state.connection)
            assert "connected" in str(header.render())
    finally:
        server.cleanup()
