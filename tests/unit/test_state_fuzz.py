"""Random event/snapshot sequences: the state never raises and its invariants hold."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from comfytui.client import events as ev
from comfytui.client.models import HistoryEntry, QueueItem, QueueSnapshot
from comfytui.core.state import DashboardState

ROOT = Path(__file__).resolve().parent.parent.parent
PROMPT: dict[str, Any] = json.loads((ROOT / "workflows" / "tiny_txt2img.json").read_text())
IDS = [f"p{i}" for i in range(12)]
NODES = ["1", "2", "3", "4", "5", "6", "7", "99", "5:1"]


def random_event(rng: random.Random) -> ev.Event:
    pid = rng.choice([*IDS, None]) if rng.random() < 0.1 else rng.choice(IDS)
    node = rng.choice(NODES)
    kind = rng.randrange(14)
    if kind == 0:
        return ev.ExecutionStart(pid or "p0", rng.randrange(10**6))
    if kind == 1:
        return ev.ExecutionCached(pid or "p0", tuple(rng.sample(NODES, 3)))
    if kind == 2:
        return ev.Executing(pid, rng.choice([node, None]))
    if kind == 3:
        mx = rng.choice([0, 1, 8, 20])
        return ev.Progress(pid, node, rng.randrange(mx + 1), mx)
    if kind == 4:
        states = ("running", "finished", "error")
        nodes = {n: ev.NodeProgress(n, rng.random(), 1.0, rng.choice(states)) for n in rng.sample(NODES, 3)}
        return ev.ProgressState(pid, nodes)
    if kind == 5:
        out = {"images": [{"filename": f"{pid}.png", "subfolder": "", "type": "output"}], "text": ["x"]}
        return ev.Executed(pid, node, rng.choice([out, None]))
    if kind == 6:
        return ev.ExecutionSuccess(pid or "p0", rng.choice([None, rng.randrange(10**6)]))
    if kind == 7:
        return ev.ExecutionError(pid or "p0", rng.choice([node, None]), "KSampler", "boom", "RuntimeError", ("tb",))
    if kind == 8:
        return ev.ExecutionInterrupted(pid or "p0", rng.choice([node, None]), "KSampler", ("1",))
    if kind == 9:
        return ev.Preview(b"\xff\xd8", "image/jpeg", rng.choice([pid, None]), node)
    if kind == 10:
        return ev.Status(rng.randrange(5), rng.choice([None, "sid"]))
    if kind == 11:
        return rng.choice([ev.Connected("me"), ev.Disconnected("lost"), ev.Reconnecting(2, 0.5)])
    if kind == 12:
        return ev.ProgressText(node, "text")
    return ev.UnknownEvent("custom", {"x": 1})


def random_snapshot(rng: random.Random) -> QueueSnapshot:
    ids = rng.sample(IDS, rng.randrange(5))
    items = [QueueItem(float(rng.randrange(-3, 20)), i, PROMPT, {"client_id": rng.choice(["me", "x"])}) for i in ids]
    items_sorted = sorted(items[1:], key=lambda i: (i.number, i.prompt_id))
    return QueueSnapshot(items[:1], items_sorted)


def random_history(rng: random.Random) -> HistoryEntry:
    pid = rng.choice(IDS)
    end = rng.randrange(10**6)
    kind = rng.choice(["execution_success", "execution_error", "execution_interrupted"])
    raw = {
        "prompt": [rng.randrange(20), pid, PROMPT, {"client_id": "x"}, ["7"]],
        "outputs": {"7": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}},
        "status": {
            "status_str": "success" if kind == "execution_success" else "error",
            "completed": kind == "execution_success",
            "messages": [["execution_start", {"timestamp": end - 10}], [kind, {"timestamp": end, "node_id": "5"}]],
        },
    }
    return HistoryEntry.from_raw(pid, raw)


def check(st: DashboardState) -> None:
    pending = st.pending
    assert st.running is None or (st.running not in pending and st.running.status == "running")
    queued = {p.prompt_id for p in pending} | ({st.running.prompt_id} if st.running else set())
    assert not queued & st._in_history, "a prompt is both queued and in history"
    assert all(p.status == "pending" for p in pending)
    assert [p.number for p in pending] == sorted(p.number for p in pending)
    assert len(st.history) <= st.history_limit
    keys = [p.order_key for p in st.history]
    assert keys == sorted(keys, reverse=True)
    assert {p.prompt_id for p in st.history} == st._in_history
    assert len(st.history) == len(st._in_history)
    for p in [*pending, *st.history, *([st.running] if st.running else [])]:
        assert st.prompts.get(p.prompt_id) is p
        _ = (p.nodes_done, p.nodes_total, p.duration, p.prompt, p.extra_data, p.title)
    assert len(st.previews) <= 16


@pytest.mark.parametrize("seed", range(20))
def test_random_sequences_keep_invariants(seed: int) -> None:
    rng = random.Random(seed)
    st = DashboardState("me", history_limit=6, log_limit=10)
    now = 1000.0
    for step in range(3000):
        now += rng.random() * 0.05
        r = rng.random()
        if r < 0.9:
            st.apply(random_event(rng), now)
        elif r < 0.95:
            left = st.set_queue(random_snapshot(rng), now - rng.random() * 0.5)
            if left and rng.random() < 0.5:
                st.forget(left, now)
        elif r < 0.98:
            st.add_history([random_history(rng) for _ in range(rng.randrange(1, 4))])
        else:
            st.note_submitted(rng.choice(IDS), PROMPT, now)
        if step % 50 == 0:
            check(st)
            st.take_dirty()
    check(st)
