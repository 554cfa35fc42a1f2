"""Make the README screenshots with the app itself against a real ComfyUI test bed.

    .venv/bin/python screenshots/make_screenshots.py [--server URL]

Without --server it starts its own test-bed server. Writes SVG (Textual) and PNG (cairosvg, if installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from comfytui.testbed import ComfyServer  # noqa: E402
from comfytui.ui.app import ComfyTUIApp  # noqa: E402
from comfytui.ui.screens.detail import DetailScreen  # noqa: E402
from comfytui.ui.screens.editor import EditorScreen  # noqa: E402
from comfytui.ui.widgets.image import ImageView  # noqa: E402
from comfytui.ui.widgets.vtable import VirtualTable  # noqa: E402

OUT = Path(__file__).resolve().parent
PROMPTS = ["a red fox in the snow", "a lighthouse at dusk, oil painting", "a bowl of ramen", "an old sailor"]


def workflow(name: str, text: str, steps: int | None = None) -> dict[str, Any]:
    prompt: dict[str, Any] = json.loads((ROOT / "workflows" / name).read_text())
    for node in prompt.values():
        if node.get("class_type", "").startswith("KSampler"):
            node["inputs"]["seed"] = random.randrange(1, 2**40)
            if steps:
                node["inputs"]["steps"] = steps
        if node.get("_meta", {}).get("title") == "Positive":
            node["inputs"]["text"] = text
    return prompt


def outside(url: str, prompt: dict[str, Any]) -> None:
    httpx.post(f"{url}/prompt", json={"prompt": prompt, "client_id": "browser-" + uuid.uuid4().hex[:6]})


def to_png(svg: Path) -> None:
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        print("cairosvg not installed: SVG only", file=sys.stderr)
        return
    # the SVG asks for Fira Code from the web; render with a local monospace font so cells line up
    text = svg.read_text().replace("Fira Code", "DejaVu Sans Mono")
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(svg.with_suffix(".png")))


async def wait(cond: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


async def shoot(url: str) -> None:
    app = ComfyTUIApp(url)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait(lambda: app.state.connection.state == "connected")
        for text in PROMPTS[1:]:  # a finished history from another client and from this app
            outside(url, workflow("tiny_txt2img.json", text))
        app.submit_prompt(workflow("tiny_txt2img.json", "a red fox in the snow, from the dashboard"))
        await wait(lambda: len(app.state.history) >= 4 and not app.state.pending and app.state.running is None)
        app.submit_prompt(workflow("tiny_slow.json", "a castle on a hill at sunset", steps=120))
        for text in PROMPTS[:2]:
            outside(url, workflow("tiny_txt2img.json", text))
        app.submit_prompt(workflow("tiny_txt2img.json", "a cat astronaut"))
        await wait(lambda: app.state.progress is not None and app.state.progress.value >= 45)
        await wait(lambda: app.query_one("#preview", ImageView).frames_drawn > 3)
        await pilot.pause(0.3)
        svg = Path(app.save_screenshot("dashboard-running.svg", str(OUT)))
        to_png(svg)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.5)
        to_png(Path(app.save_screenshot("dashboard-80x24.svg", str(OUT))))
        await pilot.resize_terminal(160, 48)
        await pilot.press("x")
        await wait(lambda: app.state.running is None and not app.state.pending, 60)
        await pilot.press("4")
        table = app.query_one("#history-table", VirtualTable)
        mine = [k for k in table.keys if (v := app.state.get(k)) and v.mine and v.status == "success" and v.outputs]
        table.move_cursor(row=table.keys.index(mine[0]))
        await pilot.press("enter")
        await wait(lambda: isinstance(app.screen, DetailScreen))
        await wait(lambda: app.screen.query_one("#detail-image-0", ImageView).frames_drawn > 0)
        await pilot.pause(0.3)
        to_png(Path(app.save_screenshot("history-detail.svg", str(OUT))))
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.3)
        to_png(Path(app.save_screenshot("help.svg", str(OUT))))
        await pilot.press("escape")
        app.edit_file(Path(__file__).resolve().parents[1] / "workflows" / "tiny_txt2img.json")
        await wait(lambda: isinstance(app.screen, EditorScreen))
        await pilot.pause(1.5)
        await pilot.press("down", "down", "down")  # the KSampler's inputs
        await pilot.pause(0.5)
        to_png(Path(app.save_screenshot("editor.svg", str(OUT))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=None)
    args = parser.parse_args()
    if args.server:
        asyncio.run(shoot(args.server))
        return 0
    with ComfyServer() as server:
        asyncio.run(shoot(server.url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
