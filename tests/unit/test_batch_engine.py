"""The engine's bookkeeping without a server: what a resume does with each journaled state, and the socket events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from comfytui.batch.engine import BatchEngine, EngineOptions
from comfytui.batch.progress import NullReporter
from comfytui.client.events import (
    Executed,
    Executing,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
)
from comfytui.client.models import HistoryEntry, OutputFile, QueueItem, QueueSnapshot
from comfytui.store.journal import ItemRecord, Journal, RunRecord


class FakeClient:
    """Answers /queue, /history/{id} and /view from dictionaries."""

    def __init__(self, running: list[str], pending: list[str], history: dict[str, Any]) -> None:
        self.snap = QueueSnapshot(
            running=[QueueItem(1, p) for p in running], pending=[QueueItem(2 + i, p) for i, p in enumerate(pending)]
        )
        self.hist = history
        self.viewed: list[str] = []

    async def queue(self) -> QueueSnapshot:
        return self.snap

    async def history_entry(self, pid: str) -> HistoryEntry | None:
        raw = self.hist.get(pid)
        return None if raw is None else HistoryEntry.from_raw(pid, raw)

    async def view(self, f: OutputFile) -> bytes:
        self.viewed.append(f.filename)
        return b"png"


def _done_entry(filename: str) -> dict[str, Any]:
    return {
        "prompt": [1, "x", {}, {}, ["7"]],
        "outputs": {"7": {"images": [{"filename": filename, "subfolder": "", "type": "output"}]}},
        "status": {
            "status_str": "success",
            "completed": True,
            "messages": [["execution_start", {"timestamp": 1000}], ["execution_success", {"timestamp": 1250}]],
        },
    }


def _engine(tmp_path: Path, items: list[ItemRecord]) -> tuple[BatchEngine, Journal]:
    journal = Journal(tmp_path / "j.sqlite3")
    run = RunRecord(id="r", workflow="w", server="http://x", client_id="c", out_dir=str(tmp_path / "out"))
    journal.create_run(run, items)
    engine = BatchEngine(journal, run, "http://x", EngineOptions(), NullReporter())
    engine._load()
    return engine, journal


def test_resume_classifies_every_state(tmp_path: Path) -> None:
    out = [{"node": "7", "filename": "known.png", "subfolder": "", "type": "output"}]
    items = [
        ItemRecord(index=1, prompt_id="p1", graph={}, status="done", files=["001_7_0.png"]),
        ItemRecord(index=2, prompt_id="p2", graph={}, status="running"),  # finished while we were away
        ItemRecord(index=3, prompt_id="p3", graph={}, status="executed", outputs=out),  # server lost its history
        ItemRecord(index=4, prompt_id="p4", graph={}, status="queued"),  # still running on the server
        ItemRecord(index=5, prompt_id="p5", graph={}, status="submitting"),  # still pending there
        ItemRecord(index=6, prompt_id="p6", graph={}, status="queued"),  # lost by a restart
        ItemRecord(index=7, prompt_id="p7", graph={}, status="failed", error="boom"),  # retried with a new id
        ItemRecord(index=8, prompt_id="p8", graph={}, status="planned"),
    ]
    engine, journal = _engine(tmp_path, items)
    assert engine.done_count == 1
    new_id = engine.items[7].prompt_id
    assert new_id != "p7" and journal.item("r", 7).prompt_id == new_id  # type: ignore[union-attr]
    fake = FakeClient(running=["p4"], pending=["p5"], history={"p2": _done_entry("two.png")})
    engine.client = fake  # type: ignore[assignment]

    async def go() -> None:
        await engine._reconcile()
        await engine._drain(5)

    asyncio.run(go())
    states = {i.index: i.status for i in journal.items("r")}
    assert states == {1: "done", 2: "done", 3: "done", 4: "running", 5: "queued", 6: "planned", 7: "planned",
                      8: "planned"}  # fmt: skip
    assert sorted(fake.viewed) == ["known.png", "two.png"]
    assert list(engine.todo) == [6, 7, 8]  # the lost one goes first, in order
    assert set(engine.inflight) == {"p4", "p5"}
    assert journal.item("r", 2).exec_seconds == 0.25  # type: ignore[union-attr]
    journal.close()


def test_socket_events_drive_the_items(tmp_path: Path) -> None:
    items = [ItemRecord(index=i, prompt_id=f"p{i}", graph={}, status="submitting", seed=i) for i in (1, 2, 3)]
    engine, journal = _engine(tmp_path, items)
    engine.deaf.clear()
    fake = FakeClient([], [], {})
    engine.client = fake  # type: ignore[assignment]
    image = {"filename": "a.png", "subfolder": "", "type": "output"}
    preview = {"filename": "p.png", "subfolder": "", "type": "temp"}

    async def go() -> None:
        for ev in (
            ExecutionStart("p1", 1000),
            Executed("p1", "7", {"images": [image]}),
            Executed("p1", "9", {"images": [preview]}),
            ExecutionSuccess("p1", 1400),
            Executing("p1", None),
            ExecutionStart("p2", 2000),
            ExecutionError("p2", "5", "KSampler", "out of memory\ndetails", "RuntimeError"),
            ExecutionStart("p3", 3000),
            ExecutionInterrupted("p3", "5", "KSampler"),
            ExecutionStart("unknown", 1),  # another client's prompt: ignored
        ):
            engine._on_event(ev)
        await engine._drain(5)

    asyncio.run(go())
    one, two, three = journal.items("r")
    assert (one.status, one.files, one.exec_seconds) == ("done", ["001_7_0.png"], 0.4)
    assert one.outputs == [{"node": "7", "filename": "a.png", "subfolder": "", "type": "output"}]  # no temp preview
    assert (two.status, two.error) == ("failed", "KSampler: out of memory")
    assert (three.status, three.error) == ("interrupted", "interrupted on the server")
    assert fake.viewed == ["a.png"] and not engine.inflight
    assert (tmp_path / "out" / "001_7_0.png").read_bytes() == b"png"
    journal.close()
