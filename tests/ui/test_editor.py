"""Pilot tests of the workflow editor over a fake backend (no network): controls, checks, errors, files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Select, Static, TextArea

from comfytui.client.errors import PromptRejected
from comfytui.client.models import OutputFile, SubmitResult
from comfytui.core.object_info import ObjectInfo
from comfytui.ui.app import ComfyTUIApp
from comfytui.ui.screens.editor import EditorScreen
from comfytui.ui.screens.open_workflow import OpenFileScreen, SavePathScreen
from comfytui.ui.widgets.editor_fields import InputRow
from tests.ui.helpers import fixed_app, until

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "workflows" / "tiny_txt2img.json"
IMG2IMG = ROOT / "workflows" / "tiny_img2img.json"
INFO = ObjectInfo.from_file(ROOT / "tests" / "data" / "object_info.json")


class FakeBackend:
    """Records what the editor sends; ``reject`` makes the next submit fail like the server would."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], bool, dict[str, Any]]] = []
        self.uploads: list[Path] = []
        self.reject: dict[str, Any] | None = None
        self.prompts: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    async def object_info(self) -> ObjectInfo:
        return INFO

    async def submit(self, prompt: dict[str, Any], *, front: bool, extra_data: dict[str, Any]) -> SubmitResult:
        if self.reject is not None:
            body, self.reject = self.reject, None
            raise PromptRejected(body)
        self.sent.append((prompt, front, extra_data))
        return SubmitResult(f"{len(self.sent):08d}-0000-4000-8000-000000000000", len(self.sent))

    async def upload_image(self, path: Path) -> OutputFile:
        self.uploads.append(path)
        return OutputFile(f"up_{path.name}", "", "input")

    async def prompt_of(self, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if prompt_id not in self.prompts:
            raise KeyError(f"unknown prompt {prompt_id}")
        return self.prompts[prompt_id]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def editor(app: ComfyTUIApp) -> EditorScreen:
    screen = app.screen
    assert isinstance(screen, EditorScreen), screen
    return screen


async def open_at(pilot: Any, backend: FakeBackend, path: Path, node: str | None = None) -> EditorScreen:
    app = pilot.app
    app.push_screen(EditorScreen(backend, path=path))
    await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)
    screen = editor(app)
    if node is not None:
        await select_node(pilot, screen, node)
    return screen


async def select_node(pilot: Any, screen: EditorScreen, node: str) -> None:
    nodes = screen.query_one("#editor-nodes", OptionList)
    nodes.highlighted = nodes.get_option_index(node)
    await until(pilot, lambda: screen.shown_node == node)
    await pilot.pause()


def row(screen: EditorScreen, name: str) -> InputRow:
    return screen.query_one(f"#field-{name}", InputRow)


def problems_text(screen: EditorScreen, name: str) -> str:
    return str(row(screen, name).query_one(".field-problems", Static).content)


def label_text(screen: EditorScreen, name: str) -> str:
    return str(row(screen, name).query_one(".field-label", Static).content)


async def test_typing_edits_and_submitting_sends_them() -> None:
    backend = FakeBackend()
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, TXT2IMG, "5")
        steps = screen.query_one("#field-steps Input", Input)
        steps.focus()
        await pilot.press("ctrl+a", "ctrl+k", "1", "2")
        await pilot.pause()
        assert "● changed" in label_text(screen, "steps") and "(file: 8)" in label_text(screen, "steps")
        await pilot.press("up")  # one step up
        await pilot.pause()
        assert steps.value == "13"
        await select_node(pilot, screen, "2")
        area = screen.query_one("#field-text TextArea", TextArea)
        area.text = "a blue whale\nunder the sea"
        await pilot.pause()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(backend.sent))
        prompt, front, _extra = backend.sent[0]
        assert prompt["5"]["inputs"]["steps"] == 13 and not front
        assert prompt["2"]["inputs"]["text"] == "a blue whale\nunder the sea"
        await until(pilot, lambda: "queued" in screen.status_text.plain)
        await pilot.press("ctrl+b")
        await until(pilot, lambda: len(backend.sent) == 2)
        assert backend.sent[1][1] is True


async def test_bad_value_is_shown_next_to_the_input_and_blocks_the_first_submit() -> None:
    backend = FakeBackend()
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, TXT2IMG, "5")
        screen.query_one("#field-steps Input", Input).value = "0"
        await pilot.pause()
        assert "0 is smaller than the minimum 1" in problems_text(screen, "steps")
        assert row(screen, "steps").has_class("-problem")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert backend.sent == []
        assert "problem(s) found before sending" in screen.status_text.plain
        nodes = screen.query_one("#editor-nodes", OptionList)
        assert "✗" in str(nodes.get_option("5").prompt)
        # a second press lets the server judge: its 400 lands next to the same input
        backend.reject = {
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
            "node_errors": {
                "5": {
                    "errors": [
                        {
                            "type": "value_smaller_than_min",
                            "message": "Value 0 smaller than min of 1",
                            "details": "steps",
                            "extra_info": {"input_name": "steps", "received_value": 0},
                        }
                    ],
                    "class_type": "KSampler",
                }
            },
        }
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "rejected" in screen.status_text.plain)
        assert "server: Value 0 smaller than min of 1" in problems_text(screen, "steps")
        assert "node 5 'steps'" in screen.status_text.plain


async def test_server_only_error_is_pinned_to_its_input() -> None:
    """LoadImage names are judged by the server alone: its answer shows under the image input."""
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
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, IMG2IMG)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "rejected" in screen.status_text.plain)
        await until(pilot, lambda: screen.node_id == "4")  # jumps to the node the server named
        await pilot.pause()
        assert "server: Invalid image file: example.png" in problems_text(screen, "image")


async def test_seed_increment_after_each_submit() -> None:
    backend = FakeBackend()
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, TXT2IMG, "5")
        mode = screen.query_one("#field-seed .seed-mode", Select)
        mode.value = "increment"
        await pilot.pause()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(backend.sent))
        await until(pilot, lambda: screen.query_one("#field-seed Input", Input).value == "43")
        assert backend.sent[0][0]["5"]["inputs"]["seed"] == 42
        await pilot.press("ctrl+r")
        await until(pilot, lambda: len(backend.sent) == 2)
        assert backend.sent[1][0]["5"]["inputs"]["seed"] == 43


async def test_combo_select_and_upload(tmp_path: Path) -> None:
    backend = FakeBackend()
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, TXT2IMG, "5")
        screen.query_one("#field-sampler_name Select", Select).value = "dpmpp_2m"
        await pilot.pause()
        assert screen.session is not None and screen.session.prompt()["5"]["inputs"]["sampler_name"] == "dpmpp_2m"
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(pilot.app.screen, OpenFileScreen))
        await pilot.press(*str(IMG2IMG))
        await pilot.press("enter")
        await until(pilot, lambda: screen.session is not None and screen.session.path == IMG2IMG)
        await until(pilot, lambda: screen.node_id is not None)
        await select_node(pilot, screen, "4")
        await pilot.click("#field-image .field-upload")
        await until(pilot, lambda: isinstance(pilot.app.screen, OpenFileScreen))
        await pilot.press(*str(image), "enter")
        await until(pilot, lambda: "Uploaded" in screen.status_text.plain)
        assert backend.uploads == [image]
        assert screen.session.prompt()["4"]["inputs"]["image"] == "up_cat.png"
        assert screen.query_one("#field-image Select", Select).value == "up_cat.png"


async def test_save_as_writes_api_format_without_the_key(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, backend, TXT2IMG, "5")
        assert screen.session is not None
        screen.session.extra_data = {"api_key_comfy_org": "SECRET-KEY"}
        screen.query_one("#field-steps Input", Input).value = "5"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(pilot.app.screen, SavePathScreen))
        field = pilot.app.screen.query_one("#save-path", Input)
        field.value = str(tmp_path / "mine.json")
        await pilot.press("enter")
        await until(pilot, lambda: "saved" in screen.status_text.plain)
        text = (tmp_path / "mine.json").read_text()
        assert json.loads(text)["5"]["inputs"]["steps"] == 5 and "SECRET" not in text


async def test_unknown_class_says_which_and_stops(tmp_path: Path) -> None:
    data = json.loads(TXT2IMG.read_text())
    data["9"] = {"class_type": "NoSuchNode", "inputs": {"x": 1}}
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(data))
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = EditorScreen(FakeBackend(), path=path)
        pilot.app.push_screen(screen)
        await until(pilot, lambda: screen.error is not None)
        await pilot.pause()
        assert "Cannot open" in str(screen.query_one("#editor-title", Static).content)
        head = str(pilot.app.screen.query_one("#editor-node-head", Static).content)
        assert "unknown node class" in head and "NoSuchNode (node 9)" in head
        assert editor(pilot.app).session is None


async def test_ui_format_file_opens_converted() -> None:
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        screen = await open_at(pilot, FakeBackend(), ROOT / "tests" / "data" / "ui_workflows" / "tiny_plain.ui.json")
        assert screen.session is not None and "converted from UI format" in screen.status_text.plain


async def test_prompt_from_history_opens_with_its_extra_data() -> None:
    backend = FakeBackend()
    prompt = json.loads(TXT2IMG.read_text())
    backend.prompts["p1"] = (prompt, {"client_id": "other", "create_time": 1, "extra_pnginfo": {"workflow": {}}})
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        pilot.app.push_screen(EditorScreen(backend, prompt_id="p1"))
        await until(pilot, lambda: isinstance(pilot.app.screen, EditorScreen) and pilot.app.screen.session is not None)
        screen = editor(pilot.app)
        assert screen.session is not None and screen.session.extra_data == {"extra_pnginfo": {"workflow": {}}}
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(backend.sent))
        assert backend.sent[0][2] == {"extra_pnginfo": {"workflow": {}}}
        screen.session.set_value("5", "steps", 4)  # edited: the page's workflow no longer matches, not sent
        await pilot.press("ctrl+r")
        await until(pilot, lambda: len(backend.sent) == 2)
        assert backend.sent[1][2] == {}
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, EditorScreen))


async def test_picker_lists_recent_and_workflows(tmp_path: Path) -> None:
    from comfytui.config import add_recent

    recent = tmp_path / "r.json"
    recent.write_text(TXT2IMG.read_text())
    add_recent(recent)
    async with fixed_app().run_test(size=(120, 40)) as pilot:
        picked: list[Path | None] = []
        pilot.app.push_screen(OpenFileScreen(), picked.append)
        await pilot.pause()
        options = pilot.app.screen.query_one("#open-list", OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert "r.json" in first and "recent" in first
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("tiny_txt2img.json" in label for label in labels)
        await pilot.press(*"nope.json", "enter")
        await pilot.pause()
        assert "no such file" in str(pilot.app.screen.query_one("#open-error", Static).content)
        await pilot.press("down", "enter")
        await until(pilot, lambda: bool(picked))
        assert picked == [recent.resolve()]
