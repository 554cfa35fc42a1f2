"""A batch of tiny prompts three ways: `comfytui run`, the polling script of the ComfyUI API tutorials, and the
WebSocket-wait script — wall time of each against the server's own busy time (sum of execution times in history).
The ratio wall / busy is the fair measure on a shared machine: background load slows the server for everyone, so
raw wall times of runs made minutes apart are not comparable, but how much of the wall time the server spent
working is. A fourth run queues everything at once with no client in the loop: the floor no client can beat.

``BENCH_BATCH_N`` sets the batch size (default 200); ``BENCH_BATCH_STEPS`` the sampler steps (default 4).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from bench import Row
from comfytui import cli
from comfytui.testbed import ComfyServer

WF = Path(__file__).resolve().parents[1] / "workflows" / "tiny_txt2img.json"
N = int(os.environ.get("BENCH_BATCH_N", "200"))
STEPS = int(os.environ.get("BENCH_BATCH_STEPS", "4"))


def _graph(seed: int) -> dict[str, Any]:
    g = dict(json.loads(WF.read_text()))
    g["5"]["inputs"]["seed"] = seed
    g["5"]["inputs"]["steps"] = STEPS
    return g


def _say(msg: str) -> None:
    print(f"[bench_batch] {msg}", file=sys.stderr, flush=True)


def _queue_prompt(http: httpx.Client, prompt: dict[str, Any], client_id: str) -> str:
    resp = http.post("/prompt", json={"prompt": prompt, "client_id": client_id})
    resp.raise_for_status()
    return str(resp.json()["prompt_id"])


def _save_outputs(http: httpx.Client, entry: dict[str, Any], out: Path, n: int) -> None:
    for node_id, node_out in entry["outputs"].items():
        for k, image in enumerate(node_out.get("images", [])):
            data = http.get("/view", params=image).content
            (out / f"{n:03d}_{node_id}_{k}.png").write_bytes(data)


def polling_script(url: str, seeds: list[int], out: Path) -> list[str]:
    """The tutorial style: submit, poll /history every second, download, next."""
    ids = []
    client_id = uuid.uuid4().hex
    with httpx.Client(base_url=url, timeout=30) as http:
        for n, seed in enumerate(seeds, start=1):
            pid = _queue_prompt(http, _graph(seed), client_id)
            while True:
                history = http.get(f"/history/{pid}").json()
                if pid in history:
                    break
                time.sleep(1.0)
            _save_outputs(http, history[pid], out, n)
            ids.append(pid)
    return ids


def websocket_script(url: str, seeds: list[int], out: Path) -> list[str]:
    """The websockets_api_example style: submit, wait for ``executing`` node=None on the socket, download, next."""
    ids = []
    client_id = uuid.uuid4().hex
    ws_url = url.replace("http://", "ws://") + f"/ws?clientId={client_id}"
    with httpx.Client(base_url=url, timeout=30) as http, connect(ws_url, max_size=None) as ws:
        for n, seed in enumerate(seeds, start=1):
            pid = _queue_prompt(http, _graph(seed), client_id)
            while True:
                message = ws.recv()
                if isinstance(message, str):
                    m = json.loads(message)
                    if m["type"] == "executing" and m["data"]["node"] is None and m["data"]["prompt_id"] == pid:
                        break
            _save_outputs(http, http.get(f"/history/{pid}").json()[pid], out, n)
            ids.append(pid)
    return ids


def queue_all_at_once(url: str, seeds: list[int], out: Path) -> list[str]:
    """The server's own floor: every prompt queued up front, then wait for the last; downloads after the clock."""
    client_id = uuid.uuid4().hex
    with httpx.Client(base_url=url, timeout=30) as http:
        ids = [_queue_prompt(http, _graph(seed), client_id) for seed in seeds]
        while ids[-1] not in http.get(f"/history/{ids[-1]}").json():
            time.sleep(0.05)
    return ids


def comfytui_run(url: str, seeds: list[int], out: Path) -> list[str]:
    """`comfytui run WF --seed A..B` in-process (stdout/stderr swallowed)."""
    sink = io.StringIO()
    args = ["run", str(WF), "--server", url, "--seed", f"{seeds[0]}..{seeds[-1]}"]
    args += ["--set", f"KSampler.steps={STEPS}", "--out", str(out), "--json"]
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        rc = cli.main(args)
    events = [json.loads(line) for line in sink.getvalue().splitlines()]
    if rc != 0:
        raise RuntimeError(f"comfytui run failed ({rc}): {events[-1] if events else ''}")
    return [e["prompt_id"] for e in events if e["event"] == "done"]


def _busy(url: str, ids: list[str]) -> float:
    """Sum of execution times (execution_start → end) the server recorded for these prompts."""
    total = 0.0
    with httpx.Client(base_url=url, timeout=30) as http:
        for pid in ids:
            entry = http.get(f"/history/{pid}").json()[pid]
            stamps = {kind: data.get("timestamp") for kind, data in entry["status"]["messages"]}
            total += (stamps["execution_success"] - stamps["execution_start"]) / 1000.0
    return total


def _measure(
    name: str, fn: Callable[[str, list[int], Path], list[str]], url: str, seeds: list[int], root: Path
) -> tuple[float, float]:
    out = root / name
    out.mkdir(parents=True)
    _say(f"{name}: {len(seeds)} prompts ...")
    t0 = time.perf_counter()
    ids = fn(url, seeds, out)
    wall = time.perf_counter() - t0
    if fn is queue_all_at_once:  # not part of its time: fetch its files only to check the count below
        with httpx.Client(base_url=url, timeout=30) as http:
            for n, pid in enumerate(ids, start=1):
                _save_outputs(http, http.get(f"/history/{pid}").json()[pid], out, n)
    files = len(list(out.rglob("*.png")))
    if len(ids) != len(seeds) or files != len(seeds):
        raise RuntimeError(f"{name}: {len(ids)} prompts, {files} files for {len(seeds)} seeds")
    busy = _busy(url, ids)
    _say(f"{name}: wall {wall:.2f}s, server busy {busy:.2f}s, ratio {wall / busy:.3f}")
    return wall, busy


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp, ComfyServer(preview_method="none") as server:
        root = Path(tmp)
        os.environ["COMFYTUI_DATA_DIR"] = str(root / "data")
        url = server.url
        websocket_script(url, list(range(10)), root)  # warm up: models built, first-run costs paid
        comfytui_run(url, list(range(10, 20)), root / "warm")  # and the client's first-run imports
        # The test machine is shared and noisy: the two close contenders run twice, alternating, best kept.
        plan: list[tuple[str, Callable[[str, list[int], Path], list[str]]]] = [
            ("floor", queue_all_at_once),
            ("comfytui", comfytui_run),
            ("websocket", websocket_script),
            ("comfytui", comfytui_run),
            ("websocket", websocket_script),
            ("polling", polling_script),
        ]
        results: dict[str, tuple[float, float]] = {}
        for k, (name, fn) in enumerate(plan, start=1):
            seeds = list(range(100_000 * k, 100_000 * k + N))  # fresh seeds: nothing is cached
            wall, busy = _measure(f"{name}-{k}", fn, url, seeds, root)
            if name not in results or wall / busy < results[name][0] / results[name][1]:
                results[name] = (wall, busy)
    wall, busy = results["comfytui"]
    mine = wall / busy - 1
    label = f"{N} tiny prompts ({STEPS} steps)"

    def measured(w: float, b: float) -> str:
        return f"{w:.2f} s wall, server busy {b:.2f} s: **{w / b:.3f}×** busy"

    rows = [
        Row(
            f"{label}: `comfytui run` (best of 2)",
            measured(wall, busy),
            f"target ≤ 1.05× busy: {'met' if wall / busy <= 1.05 else 'NOT met'}",
        ),
        Row(
            f"{label}: all queued at once, no downloads (the server's own floor)",
            measured(*results["floor"]),
            "what no client can beat (server overhead between prompts, its gc every 10 s)",
        ),
    ]
    for name, title in (
        ("websocket", "WebSocket-wait script (best of 2)"),
        ("polling", "polling script (/history every 1 s)"),
    ):
        w, b = results[name]
        rows.append(
            Row(
                f"{label}: {title}",
                measured(w, b),
                f"time beyond busy: `comfytui run` {100 * mine:.1f} % vs {100 * (w / b - 1):.1f} %",
            )
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"| {row.name} | {row.measured} | {row.compare} |")
