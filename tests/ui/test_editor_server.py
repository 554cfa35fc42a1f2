"""The editor and quick reruns against the real ComfyUI test bed (Pilot)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from textual.widgets import Input, TextArea

from comfytui.client.models import SubmitResult
from comfytui.ui.app import ComfyTUIApp
from comfytui.ui.screens.editor import EditorScreen, open_editor, open_editor_for_prompt
from comfytui.ui.screens.open_workflow import OpenFileScreen, SavePathScreen
from comfytui.ui.widgets.editor_backend import SessionBackend
from comfytui.ui.widgets.editor_fields import InputRow
from tests.ui.helpers import until
from tests.ui.test_editor import problems_text, select_node

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "workflows" / "tiny_txt2img.json"
IMG2IMG = ROOT / "workflows" / "tiny_img2img.json"
API_KEY = "comfyui-test-key-" + "9" * 16


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A config file with an API key; recent files in a temporary data folder."""
    path = tmp_path / "config.toml"
    path.write_text(f'api_key = "{API_KEY}"\n')
    monkeypatch.setenv("COMFYTUI_CONFIG", str(path))
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COMFYTUI_API_KEY", raising=False)
    yield path


@pytest.fixture
async def http(comfy_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=comfy_url, timeout=30) as client:
        yield client


async def history(http: httpx.AsyncClient, prompt_id: str, timeout: float = 60) -> dict[str, Any]:
    """The finished history entry of a prompt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = (await http.get(f"/history/{prompt_id}")).json()
        if prompt_id in data and data[prompt_id].get("status", {}).get("completed") is not None:
            entry: dict[str, Any] = data[prompt_id]
            if entry["status"].get("status_str") in ("success", "error"):
                return entry
        await asyncio.sleep(0.1)
    raise AssertionError(f"prompt {prompt_id} did not finish in {timeout}s")


async def image_of(http: httpx.AsyncClient, entry: dict[str, Any]) -> tuple[str, bytes]:
    assert entry["status"]["status_str"] == "success", entry["status"]
    f = entry["outputs"]["7"]["images"][0]
    r = await http.get("/view", params=f)
    r.raise_for_status()
    return f["filename"], r.content


def with_fresh_seed(path: Path, tmp: Path) -> Path:
    """A copy of a workflow with a fresh seed, so the server's cache does not skip the run."""
    data = json.loads(path.read_text())
    data["5"]["inputs"]["seed"] = random.randrange(1, 2**40)
    out = tmp / path.name
    out.write_text(json.dumps(data))
    return out


async def start(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: app.state.connection.state == "connected", 30)


async def opened(pilot: Any, path: Path | None = None, prompt_id: str | None = None) -> EditorScreen:
    app = pilot.app
    if prompt_id is not None:
        open_editor_for_prompt(app, prompt_id)
    else:
        open_editor(app, path)
    await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None, 30)
    screen = app.screen
    assert isinstance(screen, EditorScreen)
    return screen


async def submitted(pilot: Any, screen: EditorScreen, key: str = "ctrl+r") -> str:
    before = screen.last_result
    await pilot.press(key)
    await until(pilot, lambda: screen.last_result != before, 30, why=lambda: screen.status_text.plain)
    assert screen.last_result is not None
    return screen.last_result


async def test_edits_reach_the_submitted_prompt(comfy_url: str, http: httpx.AsyncClient, tmp_path: Path) -> None:
    text = f"a lighthouse {random.randrange(10**6)}"
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        screen = await opened(pilot, with_fresh_seed(TXT2IMG, tmp_path))
        await select_node(pilot, screen, "5")
        steps = screen.query_one("#field-steps Input", Input)
        steps.focus()
        await pilot.press("ctrl+a", "ctrl+k", "3")
        await select_node(pilot, screen, "2")
        screen.query_one("#field-text TextArea", TextArea).text = text
        await pilot.pause()
        prompt_id = await submitted(pilot, screen)
        entry = await history(http, prompt_id)
        graph = entry["prompt"][2]
        assert graph["5"]["inputs"]["steps"] == 3 and graph["2"]["inputs"]["text"] == text
        assert entry["status"]["status_str"] == "success"
        # the dashboard knows it as this app's prompt
        await until(pilot, lambda: (pv := pilot.app.state.get(prompt_id)) is not None and pv.mine)


async def test_bad_values_local_and_server_side_shown_next_to_the_input(comfy_url: str, tmp_path: Path) -> None:
    data = json.loads(IMG2IMG.read_text())
    data["4"]["inputs"]["image"] = "no-such-image.png"  # only the server can tell
    path = tmp_path / "bad_image.json"
    path.write_text(json.dumps(data))
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        # a value the local check cannot judge: the server's 400 lands next to the input, no traceback
        screen = await opened(pilot, path)
        assert screen.session is not None and screen.session.check() == []
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "rejected" in screen.status_text.plain, 30, why=lambda: screen.status_text.plain)
        assert "node 4 'image'" in screen.status_text.plain
        await until(pilot, lambda: screen.shown_node == "4")  # it jumps there
        assert "server: Invalid image file: no-such-image.png" in problems_text(screen, "image")
        assert screen.query_one("#field-image", InputRow).has_class("-problem")
        await pilot.press("escape")
        # a bound: caught locally first, then (sent anyway) by the server, both next to the input
        screen = await opened(pilot, TXT2IMG)
        await select_node(pilot, screen, "5")
        screen.query_one("#field-steps Input", Input).value = "0"
        await pilot.pause()
        assert "0 is smaller than the minimum 1" in problems_text(screen, "steps")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "problem(s) found before sending" in screen.status_text.plain and screen.last_result is None
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "rejected" in screen.status_text.plain, 30, why=lambda: screen.status_text.plain)
        await select_node(pilot, screen, "5")
        assert "server: Value 0 smaller than min of 1" in problems_text(screen, "steps")
        screen.query_one("#field-steps Input", Input).value = "4"  # fixing it clears both
        await pilot.pause()
        assert problems_text(screen, "steps") == ""
        assert screen.session is not None and screen.session.check() == [] and not screen.session.server_problems


async def test_rerun_new_seed_differs_same_seed_same_bytes(
    comfy_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        screen = await opened(pilot, with_fresh_seed(TXT2IMG, tmp_path))
        first = await submitted(pilot, screen)
        name_a, image_a = await image_of(http, await history(http, first))
        backend = pilot.app.editor_backend
        assert isinstance(backend, SessionBackend)
        second = await backend.rerun(first, new_seed=True)
        entry_b = await history(http, second.prompt_id)
        assert screen.session is not None
        assert entry_b["prompt"][2]["5"]["inputs"]["seed"] != screen.session.prompt()["5"]["inputs"]["seed"]
        _name_b, image_b = await image_of(http, entry_b)
        assert image_b != image_a
        third = await backend.rerun(first)  # same prompt, same seed: the sampler runs again (the cache moved on)
        name_c, image_c = await image_of(http, await history(http, third.prompt_id))
        assert name_c != name_a and image_c == image_a


async def test_rerun_and_edit_another_clients_prompt_with_the_api_key(
    comfy_url: str, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prompt = json.loads(TXT2IMG.read_text())
    prompt["5"]["inputs"]["seed"] = random.randrange(1, 2**40)
    r = await http.post("/prompt", json={"prompt": prompt, "client_id": "someone-else"})
    theirs = r.json()["prompt_id"]
    entry = await history(http, theirs)
    assert "api_key_comfy_org" not in entry["prompt"][3]  # the server hides keys in history
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        assert pilot.app.session is not None
        client = pilot.app.session.client
        sent: list[dict[str, Any] | None] = []
        real_submit = client.submit

        async def spy(p: dict[str, Any], **kw: Any) -> SubmitResult:
            sent.append(kw.get("extra_data"))
            return await real_submit(p, **kw)

        monkeypatch.setattr(client, "submit", spy)
        screen = await opened(pilot, prompt_id=theirs)
        assert screen.session is not None and screen.session.prompt() == prompt
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(pilot.app.screen, SavePathScreen))
        pilot.app.screen.query_one("#save-path", Input).value = str(tmp_path / "saved.json")
        await pilot.press("enter")
        await until(pilot, lambda: "saved" in screen.status_text.plain)
        assert screen.session.origin.startswith("prompt-")
        await select_node(pilot, screen, "5")
        screen.query_one("#field-steps Input", Input).value = "2"
        mine = await submitted(pilot, screen)
        assert (await history(http, mine))["prompt"][2]["5"]["inputs"]["steps"] == 2
        backend = pilot.app.editor_backend
        again = await backend.rerun(theirs, new_seed=True)
        assert (await history(http, again.prompt_id))["status"]["status_str"] == "success"
        assert sent and all(extra is not None and extra["api_key_comfy_org"] == API_KEY for extra in sent)
        assert all("client_id" not in extra for extra in sent if extra)
    # nothing comfytui wrote holds the key
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "config.toml"]
    assert all(API_KEY not in p.read_text(errors="replace") for p in written)


async def test_upload_end_to_end(comfy_url: str, http: httpx.AsyncClient, tmp_path: Path) -> None:
    image = tmp_path / f"pick_{random.randrange(10**6)}.png"
    Image.new("RGB", (64, 64), (random.randrange(256), 40, 200)).save(image)
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        screen = await opened(pilot, with_fresh_seed(IMG2IMG, tmp_path))
        await select_node(pilot, screen, "4")
        await pilot.click("#field-image .field-upload")
        await until(pilot, lambda: isinstance(pilot.app.screen, OpenFileScreen))
        pilot.app.screen.query_one("#open-path", Input).value = str(image)
        await pilot.press("enter")
        await until(pilot, lambda: "Uploaded" in screen.status_text.plain, 30, why=lambda: screen.status_text.plain)
        assert screen.session is not None
        name = screen.session.prompt()["4"]["inputs"]["image"]
        assert name.endswith(".png")
        prompt_id = await submitted(pilot, screen)
        entry = await history(http, prompt_id)
        assert entry["status"]["status_str"] == "success"
        assert entry["prompt"][2]["4"]["inputs"]["image"] == name
        stored = await http.get("/view", params={"filename": name, "type": "input", "subfolder": ""})
        assert stored.content == image.read_bytes()


async def test_ui_format_file_opens_converted_and_runs(comfy_url: str, http: httpx.AsyncClient, tmp_path: Path) -> None:
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        screen = await opened(pilot, ROOT / "tests" / "data" / "ui_workflows" / "tiny_plain.ui.json")
        assert screen.session is not None and "converted from UI format" in screen.session.notes
        seeds = screen.session.current.seed_inputs(screen.session.info)
        for nid, name in seeds:
            screen.session.set_value(nid, name, random.randrange(1, 2**40))
        prompt_id = await submitted(pilot, screen)
        assert (await history(http, prompt_id))["status"]["status_str"] == "success"


async def test_unknown_class_on_the_server(comfy_url: str, tmp_path: Path) -> None:
    data = json.loads(TXT2IMG.read_text())
    data["12"] = {"class_type": "NotInstalledNode", "inputs": {}}
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(data))
    async with ComfyTUIApp(comfy_url).run_test(size=(120, 40)) as pilot:
        await start(pilot)
        open_editor(pilot.app, path)
        await until(pilot, lambda: isinstance(pilot.app.screen, EditorScreen) and pilot.app.screen.error is not None)
        assert "NotInstalledNode (node 12)" in (pilot.app.screen.error or "")
