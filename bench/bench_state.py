"""The state model: event ingestion rate, memory with 10,000 history entries, a 1,000-prompt queue.

Events come from streams recorded on the real server (tests/data/streams), copied with fresh prompt ids so every
copy is a new prompt, and applied with increasing timestamps. Memory is measured in a fresh subprocess.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import Row
from comfytui.client.events import Event
from comfytui.client.models import HistoryEntry, QueueItem, QueueSnapshot
from comfytui.core.replay import load_stream
from comfytui.core.state import DashboardState

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ROOT / "tests" / "data" / "streams"
ME = "bench-client"


def _with_pid(event: Event, old: str, new: str) -> Event:
    if getattr(event, "prompt_id", None) == old:
        return dataclasses.replace(event, prompt_id=new)  # type: ignore[call-arg]
    return event


def _workload(copies: int) -> tuple[list[tuple[float, Event]], QueueSnapshot]:
    """``copies`` runs of each live stream (submitter, broadcast, interrupted), one after another.

    Also returns the queue as it stood before the first run (every copy pending, with its graph), so the events
    work on real node lists the way they do live.
    """
    names = ("txt2img_submitter", "no_client_id_monitor", "interrupted")
    streams = [load_stream(STREAMS / f"{n}.jsonl") for n in names]
    graphs = []
    for s in streams:
        rec = next(r for r in s.records if r.kind == "http" and r.path.startswith("/history"))
        graphs.append(next(iter(rec.body.values()))["prompt"])
    timed: list[tuple[float, Event]] = []
    pending: list[QueueItem] = []
    t = 1_700_000_000.0
    for i in range(copies):
        for s, graph in zip(streams, graphs, strict=True):
            pid = s.prompt_id
            new = f"{pid[:-6]}{i:06d}"
            extra = dict(graph[3])
            if s.role == "submitter":
                extra["client_id"] = ME
            pending.append(QueueItem(float(len(pending)), new, graph[2], extra, list(graph[4])))
            for rec in s.records:
                if rec.event is not None:
                    timed.append((t + rec.t, _with_pid(rec.event, pid, new)))
            t += s.records[-1].t + 0.01
    return timed, QueueSnapshot([], pending)


def _clone(state: DashboardState) -> DashboardState:
    """A fresh state sharing ``state``'s (untouched) prompt objects, with its own containers."""
    st = DashboardState(ME, history_limit=state.history_limit)
    st.history, st.prompts = list(state.history), dict(state.prompts)
    st._in_history, st._history_keys = set(state._in_history), list(state._history_keys)
    st._pending, st._pending_list = dict(state._pending), None
    st.running = state.running
    return st


def _rate(timed: list[tuple[float, Event]], queue: QueueSnapshot, state: DashboardState, rounds: int = 3) -> float:
    """Best of ``rounds`` replays, each on a fresh copy of ``state`` with ``queue`` pending."""
    best = 0.0
    for _ in range(rounds):
        st = _clone(state)
        st.set_queue(queue, 0.0)
        apply = st.apply
        gc.collect()
        start = time.perf_counter()
        for now, ev in timed:
            apply(ev, now)
        elapsed = time.perf_counter() - start
        assert len(st.history) > len(state.history) or len(st.history) == st.history_limit
        best = max(best, len(timed) / elapsed)
    return best


def history_template(with_workflow: bool = True) -> dict[str, Any]:
    """A real /history entry (tiny txt2img), optionally carrying a UI workflow like the web page sends."""
    s = load_stream(STREAMS / "txt2img_submitter.jsonl")
    body = next(r.body for r in s.records if r.kind == "http" and r.path.startswith("/history"))
    raw: dict[str, Any] = next(iter(body.values()))
    if with_workflow:
        ui = json.loads((ROOT / "tests" / "data" / "ui_workflows" / "tiny_full.ui.json").read_text())
        raw["prompt"][3]["extra_pnginfo"] = {"workflow": ui}
    return raw


def fill_history(state: DashboardState, n: int, page: int = 200) -> None:
    """Load ``n`` entries the way LiveSession pages them in (parsed from JSON, merged, dropped)."""
    template = history_template()
    text = json.dumps(template)
    for start in range(0, n, page):
        batch = []
        for i in range(start, min(n, start + page)):
            raw = json.loads(text)
            pid = f"00000000-0000-4000-8000-{i:012d}"
            raw["prompt"][1], raw["prompt"][0] = pid, i
            raw["prompt"][2]["2"]["inputs"]["text"] = f"a red fox in the snow, variation {i}"
            raw["prompt"][2]["5"]["inputs"]["seed"] = i
            for out in raw["outputs"].values():
                for img in out.get("images", []):
                    img["filename"] = f"tiny_{i:05d}_.png"
            for _kind, data in raw["status"]["messages"]:
                if "timestamp" in data:
                    data["timestamp"] += i * 1000
            batch.append(HistoryEntry.from_raw(pid, raw))
        state.add_history(batch)


_RSS_SCRIPT = """
import gc, json, sys
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
from bench.bench_state import fill_history
from comfytui.core.state import DashboardState
gc.collect()
base = rss()
st = DashboardState('bench')
fill_history(st, int(sys.argv[1]))
gc.collect()
assert len(st.history) == int(sys.argv[1])
# look at a few, as a user scrolling the history would
for pv in st.history[:50]:
    pv.nodes
print(json.dumps({'base': base, 'after': rss()}))
"""


def rss_with_history(n: int) -> tuple[float, float]:
    """(process RSS MB, growth MB) after loading ``n`` history entries in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(n)], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["after"] / 1e6, (data["after"] - data["base"]) / 1e6


def _queue(n: int) -> QueueSnapshot:
    template = history_template(with_workflow=False)
    prompt, extra = template["prompt"][2], dict(template["prompt"][3])
    items = [
        QueueItem(float(i), f"00000000-0000-4000-9000-{i:012d}", json.loads(json.dumps(prompt)), extra, ["7"])
        for i in range(n)
    ]
    return QueueSnapshot(items[:1], items[1:])


def set_queue_times(n: int = 1000, repeats: int = 20) -> tuple[float, float]:
    """(first snapshot ms, steady refresh ms) for a queue of ``n`` prompts."""
    snap = _queue(n)
    st = DashboardState(ME)
    t0 = time.perf_counter()
    st.set_queue(snap, 1.0)
    _ = st.pending
    first = (time.perf_counter() - t0) * 1000
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        st.set_queue(snap, 2.0 + r)
        _ = st.pending
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return first, times[len(times) // 2]


def run() -> list[Row]:
    timed, queue = _workload(200)
    empty = DashboardState(ME)
    rate_small = _rate(timed, queue, empty)
    big = DashboardState(ME)
    fill_history(big, 10_000)
    others = [dataclasses.replace(i, number=i.number + 1e6) for i in _queue(1001).pending]
    rate_big = _rate(timed, QueueSnapshot([], queue.pending + others), big)
    first, steady = set_queue_times()
    rss, growth = rss_with_history(10_000)
    kinds = len({type(e).__name__ for _, e in timed})
    return [
        Row(
            "state: apply() rate, recorded events",
            f"{rate_small:,.0f} events/s",
            f"target ≥ 50,000 ({len(timed):,} events of {kinds} kinds)",
        ),
        Row(
            "state: apply() rate, with 10,000 history + 1,000 queued",
            f"{rate_big:,.0f} events/s",
            "target ≥ 50,000; no per-event cost in queue/history size",
        ),
        Row("state: set_queue, 1,000 prompts (first / refresh)", f"{first:.1f} ms / {steady:.1f} ms", ""),
        Row(
            "state: RSS with 10,000 history entries (state alone)",
            f"{rss:.0f} MB (+{growth:.0f} MB for the entries)",
            "target ≤ 100 MB for the whole app; entries carry a UI workflow",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row.name}: {row.measured}  ({row.compare})")
