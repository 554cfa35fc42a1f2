"""DashboardState with hand-made events: ordering, races, bounds, rates."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from comfytui.client.events import (
    Connected,
    Disconnected,
    Executed,
    Executing,
    ExecutionCached,
    ExecutionStart,
    ExecutionSuccess,
    LogEntry,
    Logs,
    Preview,
    Progress,
    ProgressText,
    Reconnecting,
    Status,
    UnknownEvent,
)
from comfytui.client.models import HistoryEntry, QueueItem, QueueSnapshot, SystemStats
from comfytui.core.state import DashboardState, execution_order, prompt_title

ROOT = Path(__file__).resolve().parent.parent.parent
ME = "me-client"
T = 1_700_000_000.0


def tiny() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "workflows" / "tiny_txt2img.json").read_text())
    return data


def item(number: float, pid: str, client_id: str | None = "other", prompt: dict[str, Any] | None = None) -> QueueItem:
    extra: dict[str, Any] = {"create_time": int(T * 1000)}
    if client_id is not None:
        extra["client_id"] = client_id
    return QueueItem(number, pid, prompt if prompt is not None else tiny(), extra, ["7"])


def snap(running: list[QueueItem], pending: list[QueueItem]) -> QueueSnapshot:
    return QueueSnapshot(running, sorted(pending, key=lambda i: (i.number, i.prompt_id)))


def history_raw(pid: str, number: float, end_ms: int, status: str = "success", client_id: str = "other") -> Any:
    msgs: list[Any] = [["execution_start", {"prompt_id": pid, "timestamp": end_ms - 500}]]
    msgs.append(["execution_cached", {"nodes": [], "prompt_id": pid, "timestamp": end_ms - 499}])
    if status == "success":
        msgs.append(["execution_success", {"prompt_id": pid, "timestamp": end_ms}])
    return {
        "prompt": [number, pid, tiny(), {"client_id": client_id, "extra_pnginfo": {"workflow": {"nodes": []}}}, ["7"]],
        "outputs": {"7": {"images": [{"filename": f"{pid}.png", "subfolder": "", "type": "output"}]}},
        "status": {"status_str": status, "completed": status == "success", "messages": msgs},
    }


def entry(pid: str, number: float, end_ms: int, **kw: Any) -> HistoryEntry:
    return HistoryEntry.from_raw(pid, history_raw(pid, number, end_ms, **kw))


# --- graph helpers -----------------------------------------------------------------------------------------------


def test_execution_order_is_topological_with_numeric_ties() -> None:
    p = tiny()
    assert execution_order(p) == ["1", "2", "3", "4", "5", "6", "7"]
    # ids that sort wrongly as strings, and a consumer listed before its input
    g = {
        "10": {"class_type": "Save", "inputs": {"images": ["9", 0]}},
        "9": {"class_type": "Decode", "inputs": {"samples": ["2", 0]}},
        "2": {"class_type": "Load", "inputs": {}},
        "11": {"class_type": "Unused", "inputs": {}},
    }
    assert execution_order(g) == ["2", "9", "10", "11"]
    assert execution_order(g, ["10"]) == ["2", "9", "10"]


def test_execution_order_survives_cycles_and_dangling_links() -> None:
    g = {
        "1": {"class_type": "A", "inputs": {"x": ["2", 0]}},
        "2": {"class_type": "B", "inputs": {"x": ["1", 0], "y": ["99", 0]}},
        "3": {"class_type": "C", "inputs": {}},
        "5:1": {"class_type": "Inner", "inputs": {"x": ["3", 0]}},
    }
    order = execution_order(g)
    assert sorted(order) == sorted(g)
    assert order.index("3") < order.index("5:1")


def test_prompt_title_prefers_positive_text_then_name_then_output_class() -> None:
    p = tiny()
    assert prompt_title(p) == "a red fox in the snow"
    p["2"]["inputs"]["text"] = "line one\n  line two  " + "x" * 300
    title = prompt_title(p)
    assert title.startswith("line one line two") and len(title) <= 120 and title.endswith("…")
    no_text = {k: v for k, v in tiny().items() if v["class_type"] != "CLIPTextEncode"}
    assert prompt_title(no_text, {"extra_pnginfo": {"workflow": {"extra": {"name": "portraits"}}}}) == "portraits"
    assert prompt_title(no_text) == "Save Image"
    assert prompt_title({}) == ""


# --- one prompt, live ---------------------------------------------------------------------------------------------


def run_events(st: DashboardState, pid: str, t: float) -> float:
    st.apply(ExecutionStart(pid, int(t * 1000)), t)
    st.apply(ExecutionCached(pid, ("1",)), t)
    for n in ("2", "3", "4", "5"):
        t += 0.01
        st.apply(Executing(pid, n), t)
    for step in range(1, 9):
        t += 0.05
        st.apply(Progress(pid, "5", step, 8), t)
    for n in ("6", "7"):
        t += 0.01
        st.apply(Executing(pid, n), t)
    st.apply(Executed(pid, "7", {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}), t)
    st.apply(ExecutionSuccess(pid, int(t * 1000)), t)
    st.apply(Executing(pid, None), t)
    return t


def test_own_prompt_lifecycle() -> None:
    st = DashboardState(ME)
    pv = st.note_submitted("p1", tiny(), T, number=3)
    assert st.pending == [pv] and pv.mine and pv.status == "pending" and pv.created == T
    t = run_events(st, "p1", T + 1)
    assert st.running is None and st.pending == []
    assert st.history == [pv] and pv.status == "success"
    assert pv.started == T + 1 and pv.ended == t and pv.duration == pytest.approx(t - T - 1)
    assert pv.nodes["5"].duration == pytest.approx(0.41)
    assert pv.outputs[0][1].filename == "a.png"
    assert st.get("p1") is pv and st.in_history("p1")


def test_events_before_the_submit_answer() -> None:
    """execution_start can beat the POST /prompt answer; the graph is attached afterwards."""
    st = DashboardState(ME)
    st.apply(ExecutionStart("p1"), T)
    st.apply(ExecutionCached("p1", ("1", "3")), T)
    st.apply(Executing("p1", "2"), T + 0.1)
    pv = st.running
    assert pv is not None and pv.mine and list(pv.nodes) == ["1", "3", "2"]
    st.note_submitted("p1", tiny(), T + 0.2)
    assert list(pv.nodes) == ["1", "2", "3", "4", "5", "6", "7"]
    assert [n.status for n in pv.nodes.values()][:4] == ["cached", "running", "cached", "pending"]
    assert pv.nodes["2"].started == T + 0.1
    assert pv.title == "a red fox in the snow"
    assert st.pending == []  # it is running, not pending


def test_step_rate_and_eta() -> None:
    st = DashboardState(ME)
    st.apply(Progress("p", "5", 1, 100), T)
    p = st.progress
    assert p is not None and p.rate is None and p.eta is None
    for i in range(2, 41):
        st.apply(Progress("p", "5", i, 100), T + (i - 1) * 0.1)  # 10 it/s
    p = st.progress
    assert p is not None and p.rate == pytest.approx(10, rel=0.01)
    assert p.eta == pytest.approx(6.0, rel=0.02)
    assert p.fraction == pytest.approx(0.4)
    # it slows down to 2 it/s: the window forgets the old pace within a few seconds
    t = T + 3.9
    for i in range(41, 51):
        t += 0.5
        st.apply(Progress("p", "5", i, 100), t)
    assert st.progress is not None and st.progress.rate == pytest.approx(2, rel=0.05)
    # a new node (or a restart of the same one) starts a new measurement
    st.apply(Progress("p", "8", 1, 20), t + 1)
    assert st.progress is not None and st.progress.node_id == "8" and st.progress.rate is None
    st.apply(Progress("p", "8", 1, 20), t + 3)
    assert st.progress is not None and st.progress.rate == 0.0  # stalled


def test_executing_next_node_ends_previous_and_clears_progress() -> None:
    st = DashboardState(ME)
    st.note_submitted("p", tiny(), T)
    st.apply(ExecutionStart("p"), T)
    st.apply(Executing("p", "5"), T)
    st.apply(Progress("p", "5", 8, 8), T + 1)
    st.apply(Executing("p", "6"), T + 1.5)
    pv = st.get("p")
    assert pv is not None
    assert pv.nodes["5"].status == "done" and pv.nodes["5"].duration == pytest.approx(1.5)
    assert pv.nodes["6"].status == "running" and pv.current_node == "6"
    assert st.progress is None


def test_progress_text_goes_to_running_node() -> None:
    st = DashboardState(ME)
    st.note_submitted("p", tiny(), T)
    st.apply(ExecutionStart("p"), T)
    st.apply(Executing("p", "7"), T)
    st.apply(ProgressText("7", "512x512"), T)
    pv = st.get("p")
    assert pv is not None and pv.nodes["7"].text == "512x512"


# --- queue snapshots --------------------------------------------------------------------------------------------


def test_queue_order_front_and_other_clients() -> None:
    st = DashboardState(ME)
    left = st.set_queue(
        snap([item(1, "run")], [item(5, "b"), item(-3, "front"), item(2, "a", client_id=ME), item(4, "n", None)]),
        T,
    )
    assert left == []
    assert st.running is not None and st.running.prompt_id == "run" and st.running.status == "running"
    assert [p.prompt_id for p in st.pending] == ["front", "a", "n", "b"]
    mine = {p.prompt_id: p.mine for p in st.pending}
    assert mine == {"front": False, "a": True, "n": False, "b": False}
    assert st.get("n") is not None and st.get("n").client_id is None  # type: ignore[union-attr]
    assert [p.prompt_id for p in st.queue] == ["run", "front", "a", "n", "b"]
    assert all(p.created == T for p in st.queue)


def test_snapshot_lists_what_left() -> None:
    st = DashboardState(ME)
    st.set_queue(snap([item(1, "r")], [item(2, "a"), item(3, "b")]), T)
    left = st.set_queue(snap([item(2, "a")], [item(3, "b")]), T + 1)
    assert left == ["r"]
    assert st.get("r") is not None and st.get("r").status == "unknown"  # type: ignore[union-attr]
    assert st.running is not None and st.running.prompt_id == "a"
    left = st.set_queue(snap([], []), T + 2)
    assert sorted(left) == ["a", "b"]
    st.add_history([entry("a", 2, int((T + 1.5) * 1000))])
    st.forget(["b"])  # deleted while pending: no history
    assert st.get("b") is None and st.get("a") is not None
    assert [p.prompt_id for p in st.history] == ["a"]


def test_stale_snapshot_does_not_undo_newer_events() -> None:
    st = DashboardState(ME)
    st.note_submitted("mine", tiny(), T)
    st.apply(ExecutionStart("mine"), T + 1)
    # a /queue request sent at T+0.5 (before the start event) answers now: it still shows "mine" pending
    left = st.set_queue(snap([item(0, "other")], [item(1, "mine", ME)]), T + 0.5)
    assert st.running is not None and st.running.prompt_id == "mine"
    assert st.running.status == "running"
    assert [p.prompt_id for p in st.pending] == []
    assert left == []
    # a prompt submitted after the snapshot was requested is not dropped by it
    st.note_submitted("later", tiny(), T + 2)
    st.set_queue(snap([item(1, "mine", ME)], []), T + 1.5)
    assert [p.prompt_id for p in st.pending] == ["later"]


def test_thousand_pending() -> None:
    st = DashboardState(ME)
    items = [item(i, f"p{i:04d}") for i in range(1000)]
    st.set_queue(snap([], items), T)
    assert len(st.pending) == 1000 and st.pending[0].prompt_id == "p0000"
    # same snapshot minus the first: one left, the rest untouched
    left = st.set_queue(snap([items[1]], items[2:]), T + 1)
    assert left == ["p0000"] and len(st.pending) == 998
    assert not st.pending[0].has_nodes  # nodes are built only when someone looks


# --- history -----------------------------------------------------------------------------------------------------


def test_history_newest_first_bounded_and_lean() -> None:
    st = DashboardState(ME, history_limit=50)
    st.add_history(entry(f"h{i:03d}", i, 1_000_000 + i * 1000) for i in range(120))
    assert len(st.history) == 50
    assert [p.prompt_id for p in st.history[:3]] == ["h119", "h118", "h117"]
    assert st.history[-1].prompt_id == "h070"
    assert st.get("h069") is None and st.get("h070") is not None
    pv = st.history[0]
    assert pv.packed and pv.extra_stripped
    assert pv.prompt == tiny()
    assert "extra_pnginfo" not in pv.extra_data and pv.extra_data["client_id"] == "other"
    assert pv.status == "success" and pv.duration == pytest.approx(0.5)
    assert pv.nodes_done == 7  # derived: everything ran
    # an older entry arriving late goes to its place, not to the top
    st.add_history([entry("late", 500, 1_000_000 + 100_500)])
    ids = [p.prompt_id for p in st.history]
    assert ids.index("h101") + 1 == ids.index("late") == ids.index("h100") - 1
    # and merging the same entry again does not duplicate it
    st.add_history([entry("h119", 119, 1_000_000 + 119_000)])
    assert [p.prompt_id for p in st.history].count("h119") == 1


def test_live_prompt_merges_history() -> None:
    st = DashboardState(ME)
    st.note_submitted("p1", tiny(), T)
    run_events(st, "p1", T + 1)
    pv = st.history[0]
    timings = {nid: n.duration for nid, n in pv.nodes.items()}
    st.add_history([entry("p1", 3, int((T + 2) * 1000), client_id=ME)])
    assert st.history == [pv] and pv.status == "success"
    assert {nid: n.duration for nid, n in pv.nodes.items()} == timings
    assert [f.filename for _, f in pv.outputs] == ["p1.png"]


def test_failed_history_entry_without_events() -> None:
    st = DashboardState(ME)
    raw = history_raw("f", 1, 5000, status="error")
    raw["status"]["messages"].append(
        [
            "execution_error",
            {
                "prompt_id": "f",
                "node_id": "5",
                "node_type": "KSampler",
                "executed": ["2", "3", "4"],
                "exception_message": "boom",
                "exception_type": "RuntimeError",
                "traceback": ["line 1"],
                "timestamp": 5000,
            },
        ]
    )
    st.add_history([HistoryEntry.from_raw("f", raw)])
    pv = st.history[0]
    assert pv.status == "failed"
    assert pv.error == {
        "exception_message": "boom",
        "exception_type": "RuntimeError",
        "traceback": ["line 1"],
        "node_id": "5",
        "node_type": "KSampler",
    }
    assert {n: s.status for n, s in pv.nodes.items()} == {
        "1": "pending",
        "2": "done",
        "3": "done",
        "4": "done",
        "5": "failed",
        "6": "pending",
        "7": "pending",
    }


# --- previews, connection, logs, misc --------------------------------------------------------------------------


def test_previews_keep_latest_per_prompt_and_are_bounded() -> None:
    st = DashboardState(ME)
    for i in range(40):
        st.apply(Preview(bytes([i]), "image/jpeg", f"p{i}", "5"), T)
    st.apply(Preview(b"new", "image/jpeg", "p39", "5"), T)
    assert len(st.previews) == 16
    assert st.previews["p39"].image == b"new"
    assert "p0" not in st.previews
    # type-1 frames (no metadata) belong to the running prompt, and are dropped when nothing runs
    st2 = DashboardState(ME)
    st2.apply(Preview(b"x", "image/jpeg"), T)
    assert st2.previews == {}
    st2.set_queue(snap([item(1, "r")], []), T)
    st2.apply(Preview(b"y", "image/jpeg"), T)
    assert st2.previews["r"].image == b"y"
    assert st2.running is not None and st2.running.detailed


def test_connection_states() -> None:
    st = DashboardState(ME)
    assert st.connection.state == "connecting"
    st.apply(Connected(ME), T)
    assert st.connection.state == "connected" and st.connection.sid == ME
    st.apply(Disconnected("connection lost"), T + 1)
    assert st.connection.state == "offline" and st.connection.last_error == "connection lost"
    st.apply(Reconnecting(2, 1.5), T + 1)
    c = st.connection
    assert c.state == "reconnecting" and c.attempt == 2 and c.retry_in == 1.5 and c.retry_at == T + 2.5
    assert c.last_error == "connection lost"
    st.apply(Connected(ME), T + 3)
    assert st.connection.state == "connected" and st.connection.attempt == 0 and st.connection.last_error is None


def test_logs_stats_status_and_unknown_events() -> None:
    st = DashboardState(ME, log_limit=5)
    st.apply(Logs(tuple(LogEntry(str(i), f"line {i}") for i in range(8))), T)
    assert [e.m for e in st.logs] == [f"line {i}" for i in range(3, 8)]
    st.set_stats(SystemStats(comfyui_version="0.3.75"))
    st.apply(Status(4), T)
    assert st.queue_remaining == 4
    assert {"logs", "stats", "queue"} <= st.take_dirty()
    v = st.version
    st.apply(UnknownEvent("crystools.monitor", {}), T)
    st.apply(Status(4), T)  # no change
    assert st.version == v and st.take_dirty() == set()


def test_interrupt_of_other_clients_prompt_is_broadcast() -> None:
    from comfytui.client.events import ExecutionInterrupted

    st = DashboardState(ME)
    st.set_queue(snap([item(1, "x", None)], []), T)
    st.apply(ExecutionInterrupted("x", "5", "KSampler", ("1", "2")), T + 1)
    pv = st.history[0]
    assert pv.prompt_id == "x" and pv.status == "interrupted" and not pv.mine
    assert pv.nodes["5"].status == "failed"
    assert st.running is None


def test_history_eviction_spares_queued_prompts() -> None:
    st = DashboardState(ME, history_limit=2)
    st.set_queue(snap([], [item(9, "q")]), T)
    st.add_history([entry("q", 9, 1000)])  # an id reused while queued (rare, but possible)
    st.add_history([entry("a", 1, 2000), entry("b", 2, 3000)])
    assert [p.prompt_id for p in st.history] == ["b", "a"]
    assert copy.copy(st.get("b")) is not None


def test_forget_drops_deleted_and_settles_lost_runs() -> None:
    st = DashboardState(ME)
    st.note_submitted("run", tiny(), T)
    st.apply(ExecutionStart("run"), T + 1)
    st.apply(Executing("run", "5"), T + 1)
    st.apply(Progress("run", "5", 3, 8), T + 2)
    st.set_queue(snap([item(1, "run", ME)], [item(2, "gone", ME)]), T + 2.5)
    left = st.set_queue(snap([], []), T + 10)  # the server restarted: nothing queued, no history
    assert sorted(left) == ["gone", "run"]
    st.forget(left, T + 11)
    assert st.get("gone") is None
    pv = st.get("run")
    assert pv is not None and st.history == [pv]
    assert pv.status == "unknown" and pv.error is not None and pv.error["exception_type"] == "lost"
    # it ended when the server went away (after the last news of it: the snapshot at T + 2.5), not at T + 11
    assert pv.nodes["5"].status == "failed" and pv.ended == T + 2.5 and pv.duration == 1.5
    assert st.progress is None and st.running is None


def test_displaced_running_prompt_is_reported_as_left() -> None:
    """Another client's prompt was running; ours starts (we never saw the other one end)."""
    st = DashboardState(ME)
    st.set_queue(snap([item(1, "theirs")], [item(2, "mine", ME)]), T)
    st.apply(ExecutionStart("mine"), T + 1)
    assert st.running is not None and st.running.prompt_id == "mine"
    left = st.set_queue(snap([item(2, "mine", ME)], []), T + 2)
    assert left == ["theirs"]
    assert st.set_queue(snap([item(2, "mine", ME)], []), T + 3) == []


def test_reused_prompt_id_runs_again() -> None:
    st = DashboardState(ME)
    st.add_history([entry("same", 1, 1000)])
    assert st.in_history("same")
    # queued again under the same id (e.g. resubmitted by a script); the snapshot is newer than what we knew
    st.set_queue(snap([], [item(5, "same")]), T)
    pv = st.get("same")
    assert pv is not None and pv.status == "pending" and not st.in_history("same")
    assert [p.prompt_id for p in st.pending] == ["same"] and not pv.packed and pv.outputs == []
    st.set_queue(snap([item(5, "same")], []), T + 1)
    st.add_history([entry("same", 5, 9000)])
    assert st.history == [pv] and pv.status == "success" and pv.number == 5


def test_stale_snapshot_does_not_requeue_a_finished_prompt() -> None:
    st = DashboardState(ME)
    st.set_queue(snap([item(1, "x")], []), T)
    assert st.set_queue(snap([], []), T + 2) == ["x"]
    st.add_history([entry("x", 1, 1000)])
    st.set_queue(snap([item(1, "x")], []), T + 1)  # sent before x left, answered late
    assert st.running is None and st.history[0].prompt_id == "x" and st.history[0].status == "success"


def test_rate_of_a_slow_sampler_and_a_fast_one() -> None:
    st = DashboardState(ME)
    for i in range(1, 5):  # one step every 5 s (a big model on a small GPU)
        st.apply(Progress("p", "5", i, 30), T + i * 5)
    p = st.progress
    assert p is not None and p.rate == pytest.approx(0.2) and p.eta == pytest.approx(130)
    st2 = DashboardState(ME)
    for i in range(1, 301):  # 100 it/s with jittery arrival (bursts of 3)
        st2.apply(Progress("q", "5", i, 1000), T + (i // 3) * 0.03)
    p2 = st2.progress
    assert p2 is not None and p2.rate == pytest.approx(100, rel=0.1)


def test_broadcast_prompt_takes_its_run_time_from_history() -> None:
    """A prompt sent without a client id: ``executing``/``progress`` are broadcast, but no execution_start/success
    nor the closing ``executing None`` — its history entry must still give it a duration."""
    st = DashboardState(ME)
    st.set_queue(snap([item(1, "b", None)], []), T)
    st.apply(Progress("b", "5", 1, 8), T + 1)  # what 0.3.75 broadcasts: progress(_state), no executing
    st.apply(Progress("b", "5", 3, 8), T + 1.5)
    assert st.running is not None and st.running.detailed
    st.set_queue(snap([], []), T + 3)
    st.add_history([entry("b", 1, int((T + 2.5) * 1000), client_id="")])
    pv = st.get("b")
    assert pv is not None and pv.status == "success"
    assert pv.duration == pytest.approx(0.5)


def test_broadcast_prompt_marks_what_fed_the_running_node_as_cached() -> None:
    """execution_cached is not broadcast; progress_state lists every node that ran. A node upstream of the one that
    started and never listed came from the cache (0.3.75, a prompt sent without a client id)."""
    from comfytui.client.events import NodeProgress, ProgressState

    st = DashboardState(ME)
    st.set_queue(snap([item(1, "b", None)], []), T)

    def state(**nodes: str) -> ProgressState:
        return ProgressState("b", {n: NodeProgress(n, 1, 1, s) for n, s in nodes.items()})

    st.apply(state(**{"4": "finished", "5": "running"}), T + 1)  # 1, 2, 3 came from the cache, 4 ran
    pv = st.get("b")
    assert pv is not None and not pv.mine
    assert {n: s.status for n, s in pv.nodes.items()} == {
        "1": "cached", "2": "cached", "3": "cached", "4": "done", "5": "running", "6": "pending", "7": "pending"
    }
    assert pv.nodes_done == 4


def test_broadcast_progress_before_the_graph_still_finds_the_cached_nodes() -> None:
    from comfytui.client.events import NodeProgress, ProgressState

    st = DashboardState(ME)
    st.apply(ProgressState("b", {"5": NodeProgress("5", 1, 8, "running")}), T)  # before any /queue snapshot
    st.set_queue(snap([item(1, "b", None)], []), T - 0.5)  # the graph arrives (the request was sent earlier)
    pv = st.get("b")
    assert pv is not None and pv.nodes["5"].status == "running"
    assert [pv.nodes[n].status for n in ("1", "2", "3", "4", "6")] == ["cached"] * 4 + ["pending"]
