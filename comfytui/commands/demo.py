"""`comfytui demo`: a real local ComfyUI with tiny demo models, and the dashboard on it."""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from comfytui import testbed

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
DEMO_PROMPTS = (
    "a red fox in the snow",
    "a lighthouse at dusk, oil painting",
    "a bowl of ramen, studio photo",
    "an astronaut riding a horse",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="start a local ComfyUI with tiny demo models and open the dashboard on it")
    p.add_argument("--server-only", action="store_true", help="only run the server until Ctrl-C")
    p.add_argument("--port", type=int, default=None, help="port for the server (default: a free one)")
    p.add_argument("--idle", action="store_true", help="do not keep queueing demo prompts")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(f"comfytui demo: {msg}", file=sys.stderr, flush=True)


def demo_workflow() -> dict[str, Any]:
    """The tiny text-to-image graph the demo queues."""
    return dict(json.loads((WORKFLOWS_DIR / "tiny_txt2img.json").read_text()))


def demo_prompt(i: int) -> dict[str, Any]:
    """The i-th demo prompt: a new seed and text, big enough to watch it sample."""
    graph = demo_workflow()
    for node in graph.values():
        if node.get("class_type") == "KSampler":
            node["inputs"].update(seed=random.randrange(2**32), steps=40)
        if node.get("class_type") == "EmptyLatentImage":
            node["inputs"].update(width=384, height=384)
    positive = graph.get("2", {}).get("inputs", {})
    if "text" in positive:
        positive["text"] = DEMO_PROMPTS[i % len(DEMO_PROMPTS)]
    return graph


def queue_demo_prompts(url: str, stop: threading.Event, interval: float = 4.0, max_queued: int = 3) -> None:
    """Keep submitting tiny prompts as other clients would, so the dashboard always has something to show.

    Every other one goes without a client id, as many scripts do: ComfyUI then broadcasts its progress and
    previews, so the dashboard shows them live; for the rest it knows only the queue and history."""
    import httpx

    client_id = "comfytui-demo-" + uuid.uuid4().hex[:8]
    i = 0
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            try:
                remaining = http.get("/prompt").json()["exec_info"]["queue_remaining"]
                if remaining < max_queued:
                    body: dict[str, Any] = {"prompt": demo_prompt(i)}
                    if i % 2 == 0:
                        body["client_id"] = client_id
                    http.post("/prompt", json=body)
                    i += 1
            except (httpx.HTTPError, OSError, ValueError, KeyError):
                pass
            stop.wait(interval)


def run(args: argparse.Namespace) -> int:
    if not testbed.is_installed():
        _say("first run: installing ComfyUI 0.3.75 and torch into " + str(testbed.install_dir()))
    try:
        testbed.install(say=_say)
    except Exception as exc:  # the install reports its own failing command
        _say(f"install failed: {exc}")
        return 1
    server = testbed.ComfyServer(port=args.port)
    _say(f"starting ComfyUI on {server.url} ...")
    t0 = time.monotonic()
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        _say(str(exc))
        server.cleanup()
        return 1
    _say(f"ComfyUI ready in {time.monotonic() - t0:.1f}s (files in {server.base_dir})")
    try:
        if args.server_only:
            _say("serving; Ctrl-C stops it")
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(0.5)
            return 0
        stop = threading.Event()
        if not args.idle:
            threading.Thread(target=queue_demo_prompts, args=(server.url, stop), daemon=True).start()
        from comfytui.ui.app import run_dashboard

        try:
            return run_dashboard(server.url)
        finally:
            stop.set()
    except KeyboardInterrupt:
        return 0
    finally:
        server.cleanup()
