"""DashboardState fed with streams recorded from a real ComfyUI 0.3.75 (see tests/record_stream.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfytui.client.events import Executing, ExecutionStart, Preview, Progress, Status
from comfytui.core.replay import Record, Stream, load_stream, replay
from comfytui.core.state import DashboardState

STREAMS = Path(__file__).resolve().parent.parent / "data" / "streams"
T0 = 1_700_000_000.0


def stream(name: str) -> Stream:
    return load_stream(STREAMS / f"{name}.jsonl")


def state_for(s: Stream) -> DashboardState:
    return DashboardState(s.client_id)


def is_history(r: Record) -> bool:
    return r.kind == "http" and r.path.startswith("/history")


def rest(s: Stream, after: Record) -> Stream:
    """The records that follow ``after``."""
    i = s.records.index(after)
    return Stream(s.scenario, s.role, s.client_id, s.prompt_ids, s.records[i + 1 :])


@pytest.mark.parametrize(
    "name",
    ["txt2img_submitter", "txt2img_monitor", "cached_rerun", "interrupted", "error", "no_client_id_monitor"],
)
def test_every_stream_decodes_and_ends_in_history(name: str) -> None:
    s = stream(name)
    assert s.records, "empty recording"
    st = replay(state_for(s), s, t0=T0)
    pv = st.get(s.prompt_id)
    assert pv is not None
    assert st.history and st.history[0] is pv
    assert st.running is None and st.pending == []
    assert st.progress is None
    assert st.connection.state == "connected"
    assert pv.finished
    assert pv.title  # something to show in the queue/history lists


def test_submitter_sees_nodes_in_order_with_progress_and_preview() -> None:
    s = stream("txt2img_submitter")
    st = state_for(s)
    # stop in the middle of sampling: the 4th progress event of the KSampler
    fourth = [r for r in s.records if isinstance(r.event, Progress)][3]
    replay(st, s, t0=T0, until=lambda r: r is fourth)
    st.apply(fourth.event, T0 + fourth.t)  # type: ignore[arg-type]
    pv = st.running
    assert pv is not None and pv.prompt_id == s.prompt_id
    assert pv.mine and pv.detailed and pv.status == "running"
    assert pv.title == "a lighthouse at dusk"
    assert list(pv.nodes) == ["1", "2", "3", "4", "5", "6", "7"]
    assert [n.title for n in pv.nodes.values()][:3] == ["Tiny Checkpoint Loader (comfytui)", "Positive", "Negative"]
    statuses = {nid: n.status for nid, n in pv.nodes.items()}
    # the warm-up run left the loader, the negative prompt and the latent cached
    assert statuses == {
        "1": "cached",
        "2": "done",
        "3": "cached",
        "4": "cached",
        "5": "running",
        "6": "pending",
        "7": "pending",
    }
    assert pv.current_node == "5"
    assert pv.nodes["2"].duration is not None and pv.nodes["2"].duration >= 0
    assert pv.nodes_total == 7 and pv.nodes_done == 4
    p = st.progress
    assert p is not None and p.node_id == "5" and p.prompt_id == s.prompt_id
    assert (p.value, p.max) == (4, 8)
    assert p.rate is not None and p.rate > 0
    assert p.eta is not None and p.eta == pytest.approx(4 / p.rate)
    preview = st.preview_for(s.prompt_id)
    assert preview is not None and preview.mime == "image/jpeg" and preview.node_id == "5"
    assert pv.nodes["5"].value == 4 and pv.nodes["5"].max == 8


def test_submitter_run_finishes_with_outputs_and_timings() -> None:
    s = stream("txt2img_submitter")
    st = replay(state_for(s), s, t0=T0)
    pv = st.history[0]
    assert pv.status == "success"
    assert [n.status for n in pv.nodes.values()] == ["cached", "done", "cached", "cached", "done", "done", "done"]
    assert all(n.duration is not None for n in pv.nodes.values() if n.status == "done")
    assert pv.nodes["5"].duration is not None and pv.nodes["5"].duration > 0.1  # 8 steps
    assert pv.duration is not None and pv.duration > 0
    assert [(nid, f.filename, f.type) for nid, f in pv.outputs] == [("7", pv.outputs[0][1].filename, "output")]
    assert pv.outputs[0][1].filename.endswith(".png")
    assert pv.error is None
    # the last preview frame is a real image
    preview = st.previews[s.prompt_id]
    assert preview.image[:2] == b"\xff\xd8"


def test_history_fetch_keeps_live_timings() -> None:
    s = stream("txt2img_submitter")
    st = replay(state_for(s), s, t0=T0, until=is_history)
    before = {nid: n.duration for nid, n in st.history[0].nodes.items()}
    st2 = replay(state_for(s), s, t0=T0)  # with the /history answer
    assert {nid: n.duration for nid, n in st2.history[0].nodes.items()} == before


def test_monitor_marks_other_clients_prompt_and_finds_it_in_history() -> None:
    s = stream("txt2img_monitor")
    st = state_for(s)
    # right after the first /queue answer that shows it running
    qrec = next(r for r in s.records if r.kind == "http" and r.path == "/queue" and r.body["queue_running"])
    replay(st, s, t0=T0, until=lambda r: r.t > qrec.t)
    pv = st.running
    assert pv is not None and pv.prompt_id == s.prompt_id
    assert pv.status == "running"
    assert not pv.mine and not pv.detailed
    assert pv.client_id is not None and pv.client_id != s.client_id
    assert pv.title == "a lighthouse at dusk"
    assert pv.nodes_total == 7  # from the graph in /queue
    assert st.progress is None and st.preview_for(pv.prompt_id) is None
    assert st.queue_remaining == 1
    # to the end: the queue empties, the prompt leaves it, /history fills in the outcome
    replay(st, rest(s, qrec), t0=T0, connect=False)
    assert st.running is None
    done = st.history[0]
    assert done is pv and done.status == "success"
    assert done.outputs and done.outputs[0][0] == "7"
    assert done.duration is not None and 0 < done.duration < 10
    assert done.nodes["5"].status == "done" and done.nodes["1"].status == "cached"


def test_set_queue_reports_prompts_that_left() -> None:
    s = stream("txt2img_monitor")
    st = state_for(s)
    left: list[str] = []
    from comfytui.client.models import QueueSnapshot

    st.apply(Status(0), T0)
    for r in s.records:
        if r.kind == "http" and r.path == "/queue":
            left += st.set_queue(QueueSnapshot.from_raw(r.body), T0 + r.sent)
    assert left == [s.prompt_id]
    pv = st.get(s.prompt_id)
    assert pv is not None and pv.status == "unknown"  # until /history says how it ended


def test_cached_rerun() -> None:
    s = stream("cached_rerun")
    st = replay(state_for(s), s, t0=T0)
    pv = st.history[0]
    assert pv.status == "cached"
    assert {n.status for n in pv.nodes.values()} == {"cached"}
    assert pv.nodes_done == pv.nodes_total == 7
    assert pv.outputs, "cached SaveImage still reports its image"
    assert st.progress is None
    # no live rate was ever measured
    assert not any(isinstance(r.event, Progress) for r in s.records)


def test_cached_rerun_before_history() -> None:
    s = stream("cached_rerun")
    st = replay(state_for(s), s, t0=T0, http=False)
    pv = st.history[0]
    assert pv.status == "cached"  # every node the server mentioned was cached
    assert set(pv.nodes) == {"1", "2", "3", "4", "5", "6", "7"}
    st2 = state_for(s)
    replay(st2, s, t0=T0, until=is_history)
    assert st2.history[0].status == "cached"  # the graph came from our own submit


def test_interrupted_run() -> None:
    s = stream("interrupted")
    st = state_for(s)
    interrupt_note = next(r for r in s.records if r.kind == "note" and r.text == "interrupt")
    replay(st, s, t0=T0, until=lambda r: r is interrupt_note)
    p = st.progress
    assert p is not None and p.max == 200 and p.value == 5
    assert p.rate is not None and p.rate > 1
    assert p.eta is not None and p.eta > 1
    st = replay(state_for(s), s, t0=T0)
    pv = st.history[0]
    assert pv.status == "interrupted"
    assert pv.nodes["5"].status == "failed"
    assert pv.nodes["4"].status == "done"
    assert pv.nodes["6"].status == "pending" and pv.nodes["7"].status == "pending"
    assert pv.error is None
    assert pv.outputs == []
    assert st.preview_for(pv.prompt_id) is not None  # the last frame stays viewable
    assert st.progress is None


def test_execution_error() -> None:
    s = stream("error")
    st = replay(state_for(s), s, t0=T0, until=is_history)
    pv = st.history[0]
    assert pv.status == "failed"
    assert pv.error is not None
    assert pv.error["node_id"] == "4" and pv.error["node_type"] == "LoadImage"
    assert "No such file or directory" in pv.error["exception_message"]
    assert pv.error["exception_type"].endswith("FileNotFoundError")
    assert pv.error["traceback"] and any("LoadImage" in line or "load_image" in line for line in pv.error["traceback"])
    assert pv.nodes["4"].status == "failed"
    assert pv.nodes["5"].status == "pending"
    # and the same from /history
    st2 = replay(state_for(s), s, t0=T0)
    e2 = st2.history[0].error
    assert e2 is not None and e2["exception_message"] == pv.error["exception_message"]


def test_error_seen_only_through_history() -> None:
    s = stream("error")
    hist = next(r for r in s.records if r.kind == "http" and r.path.startswith("/history"))
    st = DashboardState("someone-else")
    from comfytui.client.models import HistoryEntry

    st.add_history(HistoryEntry.from_raw(k, v) for k, v in hist.body.items())
    pv = st.history[0]
    assert pv.status == "failed" and not pv.mine and not pv.detailed
    assert pv.nodes["4"].status == "failed"
    assert pv.nodes["1"].status == "cached"
    assert pv.error is not None and "No such file" in pv.error["exception_message"]


def test_no_client_id_prompt_broadcasts_detail_to_a_monitor() -> None:
    s = stream("no_client_id_monitor")
    st = state_for(s)
    last_progress = [r for r in s.records if isinstance(r.event, Progress)][-2]
    replay(st, s, t0=T0, until=lambda r: r is last_progress)
    pv = st.running
    assert pv is not None and pv.prompt_id == s.prompt_id
    assert not pv.mine
    assert pv.detailed  # progress and previews are broadcast for it
    assert pv.client_id is None
    assert pv.title == "a castle in the clouds"
    assert pv.nodes["5"].status == "running" and pv.current_node == "5"
    assert pv.nodes["4"].status == "done"
    assert st.progress is not None and st.progress.node_id == "5" and st.progress.rate is not None
    assert st.preview_for(pv.prompt_id) is not None
    # never any executing/start events for it
    assert not any(isinstance(r.event, Executing | ExecutionStart) for r in s.records)
    st = replay(state_for(s), s, t0=T0)
    done = st.history[0]
    assert done.status == "success" and done.outputs
    assert all(n.status in ("done", "cached") for n in done.nodes.values())


def test_previews_are_type4_with_metadata_for_submitter_and_type1_for_broadcast() -> None:
    sub = [r.event for r in stream("txt2img_submitter").records if isinstance(r.event, Preview)]
    mon = [r.event for r in stream("no_client_id_monitor").records if isinstance(r.event, Preview)]
    assert sub and all(p.prompt_id is not None for p in sub)
    assert mon  # type 1 (no metadata) for prompts with no client id, attributed to the running prompt
    s = stream("no_client_id_monitor")
    st = replay(state_for(s), s, t0=T0)
    assert list(st.previews) == [s.prompt_id]


def test_version_and_dirty_areas() -> None:
    s = stream("txt2img_submitter")
    st = state_for(s)
    v0 = st.version
    replay(st, s, t0=T0)
    assert st.version > v0
    dirty = st.take_dirty()
    assert {"connection", "queue", "graph", "progress", "preview", "history"} <= dirty
    assert st.take_dirty() == set()
