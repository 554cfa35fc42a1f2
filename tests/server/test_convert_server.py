"""UI → API conversion against the real ComfyUI: the server accepts and runs what we produce."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from comfytui.cli import main
from comfytui.client.errors import PromptRejected
from comfytui.client.http import ComfyClient
from comfytui.core.convert import convert_ui
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import Workflow, load_any
from comfytui.testbed import ComfyServer, free_port

pytestmark = pytest.mark.server

UI_DIR = Path(__file__).resolve().parents[1] / "data" / "ui_workflows"
PAIRS = [
    ("tiny_plain.ui.json", "tiny_plain.api.json", "7"),
    ("tiny_full.ui.json", "tiny_full.api.json", "7"),
    ("tiny_full_schema1.ui.json", "tiny_full.api.json", "7"),
    ("stock_image.ui.json", "stock_image.api.json", "6"),
    ("stock_image_schema04.ui.json", "stock_image.api.json", "6"),
    ("tiny_subgraph.ui.json", "tiny_subgraph.api.json", "8"),
    ("stock_loadimage.ui.json", "stock_loadimage.api.json", "6"),
]


def load(name: str) -> Any:
    return json.loads((UI_DIR / name).read_text())


async def _object_info(url: str) -> dict[str, Any]:
    async with ComfyClient(url) as client:
        return await client.object_info()


@pytest.fixture(scope="module")
def live_info(comfy_server: ComfyServer) -> ObjectInfo:
    # The input image the LoadImage workflow names (RGBA, so LoadImageMask has an alpha channel).
    from PIL import Image

    Image.new("RGBA", (24, 16), (200, 40, 40, 128)).save(comfy_server.input_dir / "comfytui_convert_input.png")
    return ObjectInfo(asyncio.run(_object_info(comfy_server.url)))


async def _run(url: str, prompt: dict[str, Any]) -> Any:
    async with ComfyClient(url) as client:
        submitted = await client.submit(prompt)
        assert submitted.node_errors == {}
        return await client.wait_for_history(submitted.prompt_id, timeout=120)


@pytest.mark.parametrize(("ui_name", "api_name", "save_node"), PAIRS)
def test_converted_workflow_runs_on_the_server(
    comfy_url: str, live_info: ObjectInfo, ui_name: str, api_name: str, save_node: str
) -> None:
    result = convert_ui(load(ui_name), live_info)
    assert result.prompt == load(api_name)
    assert result.notes == []
    assert Workflow.from_dict(result.prompt).validate(live_info) == []
    entry = asyncio.run(_run(comfy_url, result.prompt))
    assert entry.status_str == "success", entry.messages
    images = entry.outputs[save_node]["images"]
    assert len(images) == 1 and images[0]["filename"].endswith(".png")


def test_output_png_loads_back_as_the_prompt_that_ran(comfy_server: ComfyServer, live_info: ObjectInfo) -> None:
    base = Workflow.from_dict(load("tiny_plain.api.json"))
    prompt = base.apply_overrides(["7.filename_prefix=png_roundtrip"]).to_api()
    entry = asyncio.run(_run(comfy_server.url, prompt))
    image = entry.outputs["7"]["images"][0]
    path = comfy_server.output_dir / image["subfolder"] / image["filename"]
    wf, notes = load_any(path, live_info)
    assert notes == ["read the prompt embedded in the PNG"]
    assert wf.to_api() == prompt


def test_local_check_agrees_with_the_server(comfy_url: str, live_info: ObjectInfo) -> None:
    wf = Workflow.from_dict(convert_ui(load("tiny_plain.ui.json"), live_info).prompt)
    bad = wf.with_input("5", "steps", 0).with_input("5", "sampler_name", "eulr")
    local = {(p.node_id, p.input_name) for p in bad.validate(live_info)}
    assert local == {("5", "steps"), ("5", "sampler_name")}

    async def submit() -> None:
        async with ComfyClient(comfy_url) as client:
            await client.submit(bad.to_api())

    with pytest.raises(PromptRejected) as exc:
        asyncio.run(submit())
    remote = {(e.node_id, e.input_name) for e in exc.value.errors}
    assert remote == local


# --- the `comfytui convert` command ------------------------------------------------------------------------


def test_cli_converts_to_stdout(comfy_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["convert", str(UI_DIR / "tiny_full.ui.json"), "--server", comfy_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == load("tiny_full.api.json")
    assert err == ""


def test_cli_writes_output_file(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "api.json"
    code = main(["--server", comfy_url, "convert", str(UI_DIR / "stock_image.ui.json"), "-o", str(target)])
    out, _ = capsys.readouterr()
    assert code == 0 and out == ""
    assert json.loads(target.read_text()) == load("stock_image.api.json")


def test_cli_api_file_is_printed_unchanged(comfy_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["convert", str(UI_DIR / "tiny_plain.api.json"), "--server", comfy_url, "--compact"])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == load("tiny_plain.api.json") and out.count("\n") == 1
    assert "already in API format" in err


def test_cli_malformed_json(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [\n  {"id": 1,}\n]}')
    code = main(["convert", str(bad), "--server", comfy_url])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"comfytui convert: {bad}: malformed JSON at line 2, column")


def test_cli_unknown_class(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ui = load("tiny_plain.ui.json")
    ui["nodes"][1]["type"] = "SuperCLIPEncoder"
    ui["nodes"][2]["type"] = "SuperCLIPEncoder"
    ui["nodes"][3]["type"] = "MagicLatent"
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(ui))
    code = main(["convert", str(path), "--server", comfy_url])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "SuperCLIPEncoder (nodes 2, 3)" in err and "MagicLatent (node 4)" in err


def test_cli_missing_file_and_unreachable_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tmp_path / "nope.json")]) == 2
    _, err = capsys.readouterr()
    assert err.strip().endswith("nope.json: no such file")
    dead = f"http://127.0.0.1:{free_port()}"
    assert main(["convert", str(UI_DIR / "tiny_full.ui.json"), "--server", dead]) == 3
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "cannot reach ComfyUI" in err


def test_cli_offline_with_saved_object_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = Path(__file__).resolve().parents[1] / "data" / "object_info.json"
    code = main(["convert", str(UI_DIR / "tiny_full.ui.json"), "--object-info", str(recorded)])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out) == load("tiny_full.api.json")
