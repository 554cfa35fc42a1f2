"""A deterministic DashboardState built from constructed events (no clock, no network)."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from comfytui.client import events as ev
from comfytui.client.models import HistoryEntry, QueueSnapshot, SystemStats
from comfytui.core.state import DashboardState

T0 = 1_790_000_000.0  # fixed "now" for snapshots
ME = "me-client"
WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "tiny_txt2img.json"


def workflow(text: str = "a red fox in the snow", seed: int = 42, steps: int = 8) -> dict[str, Any]:
    prompt: dict[str, Any] = json.loads(WORKFLOW.read_text())
    prompt = copy.deepcopy(prompt)
    prompt["2"]["inputs"]["text"] = text
    prompt["5"]["inputs"]["seed"] = seed
    prompt["5"]["inputs"]["steps"] = steps
    return prompt


def gradient_png(w: int = 64, h: int = 64) -> bytes:
    """A deterministic colourful image standing in for a latent preview."""
    img = Image.new("RGB", (w, h))
    img.putdata([(x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)) for y in range(h) for x in range(w)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def pid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def item(n: int, prompt: dict[str, Any], client: str | None, created: float) -> list[Any]:
    extra = {"create_time": int(created * 1000)}
    if client:
        extra["client_id"] = client
    return [n, pid(n), prompt, extra, ["7"]]


def history_raw(
    n: int, prompt: dict[str, Any], client: str, start: float, end: float, outcome: str, files: Iterable[str] = ()
) -> dict[str, Any]:
    msgs: list[list[Any]] = [["execution_start", {"prompt_id": pid(n), "timestamp": int(start * 1000)}]]
    status = "success"
    if outcome == "success":
        msgs.append(["execution_success", {"prompt_id": pid(n), "timestamp": int(end * 1000)}])
    elif outcome == "failed":
        status = "error"
        msgs.append(
            [
                "execution_error",
                {
                    "prompt_id": pid(n),
                    "node_id": "5",
                    "node_type": "KSampler",
                    "exception_message": "Sampler ran out of memory",
                    "exception_type": "torch.OutOfMemoryError",
                    "traceback": ['  File "execution.py", line 496, in execute\n', "    raise OutOfMemoryError\n"],
                    "executed": ["1", "2", "3", "4"],
                    "timestamp": int(end * 1000),
                },
            ]
        )
    else:
        status = "error"
        msgs.append(["execution_interrupted", {"prompt_id": pid(n), "node_id": "5", "timestamp": int(end * 1000)}])
    images = [{"filename": f, "subfolder": "", "type": "output"} for f in files]
    return {
        "prompt": item(n, prompt, client, start - 1),
        "outputs": {"7": {"images": images}} if images else {},
        "status": {"status_str": status, "completed": outcome == "success", "messages": msgs},
    }


def build_state(now: float = T0) -> DashboardState:
    """Running prompt mid-sampling with a preview, 3 pending (mixed clients), 4 history entries, stats, logs."""
    s = DashboardState(ME)
    s.apply(ev.Connected(ME), now - 60)
    s.set_stats(
        SystemStats.from_raw(
            {
                "system": {"comfyui_version": "0.3.75", "ram_total": 16 * 2**30, "ram_free": 9 * 2**30},
                "devices": [
                    {"name": "cuda:0 NVIDIA GeForce RTX 4090", "type": "cuda", "vram_total": 24 * 2**30,
                     "vram_free": 17 * 2**30}
                ],
            }
        )
    )
    # history (oldest first, as the server lists it)
    entries = [
        history_raw(1, workflow("a lighthouse at dusk", 1), ME, now - 900, now - 897.5, "success", ["tiny_00001_.png"]),
        history_raw(2, workflow("a cat astronaut", 2), "other-client", now - 800, now - 796.0, "success",
                    ["tiny_00002_.png"]),
        history_raw(3, workflow("a storm over the sea", 3), ME, now - 700, now - 699.2, "failed"),
        history_raw(4, workflow("mountains in fog", 4), ME, now - 600, now - 590.0, "interrupted"),
    ]
    s.add_history(HistoryEntry.from_raw(pid(n + 1), e) for n, e in enumerate(entries))
    # queue: running 5 (mine), pending 6 (other), 7 (mine), 8 (no client id)
    running_prompt = workflow("a red fox in the snow", 42)
    s.note_submitted(pid(5), running_prompt, now - 30, number=5)
    snap = QueueSnapshot.from_raw(
        {
            "queue_running": [item(5, running_prompt, ME, now - 30)],
            "queue_pending": [
                item(6, workflow("portrait of an old sailor", 6), "other-client", now - 20),
                item(7, workflow("a bowl of ramen", 7), ME, now - 15),
                item(8, workflow("neon city at night", 8), None, now - 5),
            ],
        }
    )
    s.set_queue(snap, now - 29)
    p = pid(5)
    s.apply(ev.ExecutionStart(p, int((now - 12) * 1000)), now - 12)
    s.apply(ev.ExecutionCached(p, ("1",)), now - 12)
    s.apply(ev.Executing(p, "2"), now - 11.9)
    s.apply(ev.Executing(p, "3"), now - 11.7)
    s.apply(ev.Executing(p, "4"), now - 11.6)
    s.apply(ev.Executing(p, "5"), now - 11.5)
    for step in range(1, 6):
        s.apply(ev.Progress(p, "5", step, 8), now - 11.5 + step * 2)
    s.apply(ev.Preview(gradient_png(), "image/png", p, "5"), now - 1.5)
    s.add_logs(
        [
            ev.LogEntry("2026-11-23T12:00:00", "Starting server\n"),
            ev.LogEntry("2026-11-23T12:00:01", "To see the GUI go to: http://127.0.0.1:8188\n"),
            ev.LogEntry("2026-11-23T12:00:05", "got prompt\n"),
            ev.LogEntry("2026-11-23T12:00:06", "Prompt executed in 2.50 seconds\n"),
            ev.LogEntry("2026-11-23T12:00:07", "got prompt\n"),
        ]
    )
    s.take_dirty()
    return s
