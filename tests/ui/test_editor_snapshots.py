"""SVG snapshots of the workflow editor and its file picker (fake backend, no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from comfytui.ui.screens.editor import EditorScreen
from comfytui.ui.screens.open_workflow import OpenFileScreen
from tests.ui.helpers import fixed_app, until, use_utc
from tests.ui.test_editor import FakeBackend

use_utc()

ROOT = Path(__file__).resolve().parents[2]
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def in_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))


async def open_editor(pilot: Pilot[Any], backend: FakeBackend, path: Path, node: str | None = None) -> EditorScreen:
    screen = EditorScreen(backend, path=path)
    pilot.app.push_screen(screen)
    await until(pilot, lambda: screen.session is not None or screen.error is not None)
    if node is not None:
        nodes = screen.query_one("#editor-nodes", OptionList)
        nodes.highlighted = nodes.get_option_index(node)
    await until(pilot, lambda: screen.error is not None or screen.shown_node == (node or screen.node_id))
    await pilot.pause()
    return screen


def test_editor_with_a_local_problem(snap_compare: SnapCompare) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        screen = await open_editor(pilot, FakeBackend(), Path("workflows/tiny_txt2img.json"), "5")
        screen.query_one("#field-steps Input", Input).value = "0"
        screen.query_one("#field-cfg Input", Input).value = "5.5"
        await pilot.pause()
        screen.query_one("#editor-nodes", OptionList).focus()
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(120, 36), run_before=run)


def test_editor_prompt_text(snap_compare: SnapCompare) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await open_editor(pilot, FakeBackend(), Path("workflows/tiny_txt2img.json"), "2")

    assert snap_compare(fixed_app(), terminal_size=(100, 30), run_before=run)


def test_editor_server_rejection_next_to_the_input(snap_compare: SnapCompare) -> None:
    backend = FakeBackend()
    backend.reject = {
        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
        "node_errors": {
            "4": {
                "errors": [
                    {
                        "type": "custom_validation_failed",
                        "message": "Custom validation failed for node",
                        "details": "image - Invalid image file: example.png",
                        "extra_info": {"input_name": "image"},
                    }
                ],
                "class_type": "LoadImage",
            }
        },
    }

    async def run(pilot: Pilot[Any]) -> None:
        screen = await open_editor(pilot, backend, Path("workflows/tiny_img2img.json"))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.shown_node == "4" and "rejected" in screen.status_text.plain)
        screen.query_one("#editor-nodes", OptionList).focus()
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(120, 30), run_before=run)


def test_editor_unknown_class(snap_compare: SnapCompare, tmp_path: Path) -> None:
    data = json.loads((ROOT / "workflows" / "tiny_txt2img.json").read_text())
    data["9"] = {"class_type": "NoSuchNode", "inputs": {}}
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(data))

    async def run(pilot: Pilot[Any]) -> None:
        screen = await open_editor(pilot, FakeBackend(), path)
        screen.query_one("#editor-title").update("Cannot open unknown.json")  # the temp path differs per run
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(100, 20), run_before=run)


def test_open_file_picker(snap_compare: SnapCompare) -> None:
    candidates = [
        (Path("workflows/tiny_img2img.json"), "recent"),
        (Path("workflows/tiny_txt2img.json"), ""),
        (Path("workflows/tiny_slow.json"), ""),
    ]

    async def run(pilot: Pilot[Any]) -> None:
        pilot.app.push_screen(OpenFileScreen(candidates=candidates))
        await pilot.pause()
        await pilot.press(*"workflows/nope.json", "enter")
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(100, 24), run_before=run)
