"""The dashboard: event-to-screen latency under load, first paint, idle CPU, memory with 10,000 history entries.

- latency: a running prompt gets 500 progress events/s plus 20 preview frames/s (512×512 JPEG) for 8 s (the first
  second is warm-up and not counted), fed into
  the state the way the session does (apply, then `on_session_change`); an event counts as shown when the repaint
  that includes it has been composed to the screen (`call_after_refresh`). Headless 160×48.
- first paint: the real app in tmux (160×48), from spawning the process to the panes being on screen (polled).
- idle CPU: that same app connected to an idle real server, CPU time over 10 s (/proc).
- memory: a fresh process with 10,000 history entries and 1,000 pending prompts rendered in the tables (VmRSS).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import Row

ROOT = Path(__file__).resolve().parent.parent
ME = "bench-ui"


def _workflow() -> dict[str, Any]:
    return dict(json.loads((ROOT / "workflows" / "tiny_txt2img.json").read_text()))


def _jpegs(n: int = 8) -> list[bytes]:
    from PIL import Image

    frames = []
    for i in range(n):
        img = Image.new("RGB", (512, 512), (30 * i % 255, 80, 160))
        img.putpixel((i, i), (255, 255, 255))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=95)
        frames.append(buf.getvalue())
    return frames


# --- latency -------------------------------------------------------------------------------------------------------


async def _latency(seconds: float = 8.0, rate: int = 500, previews: int = 20, warmup: float = 1.0) -> dict[str, float]:
    from comfytui.client import events as ev
    from comfytui.core.state import DashboardState
    from comfytui.ui.app import ComfyTUIApp
    from comfytui.ui.widgets.image import ImageView

    state = DashboardState(ME)
    state.apply(ev.Connected(ME), time.time())
    pid = str(uuid.uuid4())
    state.note_submitted(pid, _workflow(), time.time())
    state.apply(ev.ExecutionStart(pid), time.time())
    state.apply(ev.Executing(pid, "5"), time.time())
    app = ComfyTUIApp("http://bench", state=state)
    shown: list[float] = []
    pending: list[float] = []
    measure_from = [0.0]

    def on_flush() -> None:
        batch = pending[:]
        pending.clear()

        def stamp() -> None:
            t = time.perf_counter()
            shown.extend(t - t0 for t0 in batch if t0 >= measure_from[0])

        app.call_after_refresh(stamp)

    app.on_flush = on_flush
    frames = _jpegs()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        start = time.perf_counter()
        measure_from[0] = start + warmup
        n = 0
        total = int(seconds * rate)
        every = max(1, rate // previews)
        while n < total:
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            pending.append(time.perf_counter())
            state.apply(ev.Progress(pid, "5", n % 1000, 1000), now)
            if n % every == 0:
                state.apply(ev.Preview(frames[(n // every) % len(frames)], "image/jpeg", pid, "5"), now)
            app.on_session_change(state.take_dirty())
            n += 1
        elapsed = time.perf_counter() - start
        await pilot.pause(0.3)
        drawn = app.query_one("#preview", ImageView).frames_drawn
    shown.sort()
    return {
        "p50": shown[len(shown) // 2] * 1000,
        "p95": shown[int(len(shown) * 0.95)] * 1000,
        "max": shown[-1] * 1000,
        "count": len(shown),
        "sent": total,
        "rate": total / elapsed,
        "frames": app.frames / elapsed,
        "previews_drawn": drawn / elapsed,
    }


# --- memory (child process) ------------------------------------------------------------------------------------------


async def _memory_child() -> dict[str, float]:
    from comfytui.client.models import HistoryEntry, QueueSnapshot
    from comfytui.core.state import DashboardState
    from comfytui.ui.app import ComfyTUIApp
    from comfytui.ui.widgets.vtable import VirtualTable

    base = _rss_mb()
    from bench.bench_state import fill_history  # the state bench's recorded-template history (with UI workflows)

    wf = _workflow()
    t0 = 1_700_000_000_000
    state = DashboardState(ME)
    fill_history(state, 10_000)
    pending = [[10_000 + i, str(uuid.UUID(int=20_000 + i)), wf, {"client_id": "x"}, ["7"]] for i in range(1000)]
    state.set_queue(QueueSnapshot.from_raw({"queue_running": [], "queue_pending": pending}), time.time())
    import gc

    gc.collect()
    state_rss = _rss_mb()
    app = ComfyTUIApp("http://bench", state=state)
    async with app.run_test(size=(160, 48)) as pilot:
        t = time.perf_counter()
        await pilot.pause(0.5)
        first = time.perf_counter() - t
        # one more finished prompt: how long the repaint of a 10,000-row history takes
        extra = HistoryEntry.from_raw(
            str(uuid.UUID(int=99_999)),
            {
                "prompt": [99_999, str(uuid.UUID(int=99_999)), wf, {}, ["7"]],
                "status": {
                    "status_str": "success",
                    "completed": True,
                    "messages": [["execution_success", {"timestamp": t0 + 99_999_000}]],
                },
            },
        )
        state.add_history([extra])
        t = time.perf_counter()
        app.flush()
        one = time.perf_counter() - t
        # the 1,000-pending queue: a full repaint (every age changes each second) and one prompt leaving it
        t = time.perf_counter()
        app.panes["queue"].update_from(state, time.time() + 1)
        queue_tick = time.perf_counter() - t
        pending_now = list(state.pending)
        snap = {"queue_running": [], "queue_pending": [[p.number, p.prompt_id, wf, {}, ["7"]] for p in pending_now[1:]]}
        state.set_queue(QueueSnapshot.from_raw(snap), time.time())
        t = time.perf_counter()
        app.panes["queue"].update_from(state, time.time() + 1)
        queue_one = time.perf_counter() - t
        await pilot.press("4", "down", "down", "end", "home")
        history = app.panes["history"]
        history.query_text = "success 12"
        t = time.perf_counter()
        history.update_from(state, time.time())
        filt = time.perf_counter() - t
        history.query_text = ""
        history.update_from(state, time.time())
        await pilot.pause(0.2)
        rss = _rss_mb()
        rows = app.query_one("#history-table", VirtualTable).row_count
    return {
        "queue_tick": queue_tick,
        "queue_one": queue_one,
        "rss": rss,
        "state": state_rss,
        "base": base,
        "first": first,
        "one": one,
        "filter": filt,
        "rows": rows,
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _child(kind: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_ui", kind], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- real terminal: first paint and idle CPU ----------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tmux_app(url: str) -> dict[str, float]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux not installed")
    session = f"bench-ui-{os.getpid()}"
    cmd = f"exec {sys.executable} -m comfytui.cli --server {url}"
    paints = []
    result: dict[str, float] = {}
    for attempt in range(3):
        t0 = time.perf_counter()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], cwd=ROOT, check=True)
        try:
            while True:
                screen = subprocess.run(
                    ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
                ).stdout
                if "1 Queue" in screen and "5 Log" in screen:
                    paints.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 20:
                    raise RuntimeError("the app did not paint within 20 s:\n" + screen)
                time.sleep(0.01)
            if attempt == 2:
                pid = int(
                    subprocess.run(
                        ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], capture_output=True, text=True
                    ).stdout.split()[0]
                )
                time.sleep(5)  # connected, initial load done
                c0, w0 = _proc_cpu(pid), time.monotonic()
                time.sleep(10)
                c1, w1 = _proc_cpu(pid), time.monotonic()
                result["idle_cpu"] = 100 * (c1 - c0) / (w1 - w0)
                with open(f"/proc/{pid}/status") as fh:
                    result["idle_rss"] = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:")) / 1024
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    result["paint_median"] = statistics.median(paints)
    result["paint_max"] = max(paints)
    return result


def run() -> list[Row]:
    from comfytui.testbed import ComfyServer

    rows: list[Row] = []
    lat = asyncio.run(_latency())
    rows.append(
        Row(
            "UI event→screen latency p95 (500 ev/s + 20 previews/s)",
            f"{lat['p95']:.1f} ms (p50 {lat['p50']:.1f}, max {lat['max']:.1f})",
            "target ≤ 50 ms",
        )
    )
    rows.append(
        Row(
            "UI repaints / preview frames drawn under that load",
            f"{lat['frames']:.1f}/s / {lat['previews_drawn']:.1f}/s",
            "repaints coalesced to ≤ 30/s",
        )
    )
    mem = _child("memory")
    rows.append(
        Row(
            "UI resident memory, 10,000 history + 1,000 pending in the tables",
            f"{mem['rss']:.0f} MB ({mem['rows']:.0f} history rows)",
            "target ≤ 100 MB",
        )
    )
    rows.append(
        Row(
            "UI repaint after one more prompt finishes (10,000-row history)",
            f"{mem['one'] * 1000:.1f} ms (a `/` filter over all 10,000: {mem['filter'] * 1000:.0f} ms)",
            "stays usable",
        )
    )
    rows.append(
        Row(
            "UI queue pane with 1,000 pending: repaint of every age / one prompt leaving",
            f"{mem['queue_tick'] * 1000:.0f} ms / {mem['queue_one'] * 1000:.0f} ms",
            "stays usable (ages tick once a second)",
        )
    )
    with ComfyServer() as server:
        term = _tmux_app(server.url)
    rows.append(
        Row(
            "UI first paint in tmux (launch → panes on screen)",
            f"{term['paint_median'] * 1000:.0f} ms median of 3 (max {term['paint_max'] * 1000:.0f})",
            "target ≤ 1 s",
        )
    )
    rows.append(
        Row(
            "UI idle CPU, connected to an idle server (10 s)",
            f"{term['idle_cpu']:.2f} % of a core (RSS {term['idle_rss']:.0f} MB)",
            "target < 1 %",
        )
    )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "memory":
        print(json.dumps(asyncio.run(_memory_child())))
    else:
        for row in run():
            print(f"{row.name}: {row.measured} ({row.compare})")
