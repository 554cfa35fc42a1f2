"""The editor reached from the dashboard: `e`, history/queue `E`, the detail screen, the palette, `comfytui edit`."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from comfytui.cli import build_parser
from comfytui.ui.app import ComfyTUIApp
from comfytui.ui.screens.detail import DetailScreen
from comfytui.ui.screens.editor import EditorScreen
from comfytui.ui.screens.open_workflow import OpenFileScreen
from tests.ui.fixtures import pid, workflow
from tests.ui.helpers import fixed_app, until
from tests.ui.test_editor import FakeBackend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))


def app_with_backend() -> tuple[ComfyTUIApp, FakeBackend]:
    app = fixed_app()
    backend = FakeBackend()
    for n in range(1, 9):
        backend.prompts[pid(n)] = (workflow(f"prompt {n}", seed=n), {"client_id": "x"})
    app.editor_backend = backend  # type: ignore[attr-defined]
    return app, backend


async def test_e_opens_the_picker_then_the_editor() -> None:
    app, _backend = app_with_backend()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, OpenFileScreen))
        app.screen.query_one("#open-path", Input).value = str(ROOT / "workflows" / "tiny_txt2img.json")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EditorScreen))


async def test_history_shift_e_edits_the_selected_prompt() -> None:
    app, _backend = app_with_backend()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4", "E")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)
        screen = app.screen
        assert isinstance(screen, EditorScreen) and screen.prompt_id is not None
        assert screen.session is not None and screen.session.origin == f"prompt-{screen.prompt_id[:8]}"


async def test_queue_shift_e_edits_the_selected_prompt() -> None:
    app, _backend = app_with_backend()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("1", "E")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)


async def test_detail_screen_edit_and_rerun() -> None:
    app, backend = app_with_backend()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)
        screen = app.screen
        assert isinstance(screen, EditorScreen) and screen.prompt_id == detail.prompt_id
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(backend.sent))
        assert backend.sent[0][2] == {}  # the other client's id is not sent back


async def test_palette_lists_the_editor() -> None:
    app, _backend = app_with_backend()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"edit workflow tiny_txt2")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.session is not None)


def test_edit_command_is_registered() -> None:
    args = build_parser().parse_args(["edit", "workflows/tiny_txt2img.json", "--server", "http://h:1"])
    assert args.command == "edit" and args.file == Path("workflows/tiny_txt2img.json") and callable(args.func)
