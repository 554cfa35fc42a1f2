"""Replay a recorded server stream (``tests/record_stream.py`` JSONL) into a ``DashboardState``.

For tests, benchmarks and UI snapshots: build a realistic state with no server. Frames go through the same decoders
the live client uses (``events.parse_text``/``parse_binary``); recorded ``/queue`` and ``/history`` answers go
through ``set_queue``/``add_history`` like ``LiveSession`` does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comfytui.client.events import Connected, Event, parse_binary, parse_text
from comfytui.client.models import HistoryEntry, QueueSnapshot
from comfytui.core.state import DashboardState

__all__ = ["Record", "Stream", "load_stream", "replay"]


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a recording: a decoded frame, an HTTP answer or a note."""

    t: float
    kind: str  # "text" | "binary" | "http" | "note"
    event: Event | None = None
    method: str = ""
    path: str = ""
    sent: float = 0.0
    status: int = 0
    body: Any = None
    request: Any = None
    text: str = ""


@dataclass(slots=True)
class Stream:
    """A recording: its meta line and records in arrival order."""

    scenario: str
    role: str
    client_id: str
    prompt_ids: list[str]
    records: list[Record] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [r.event for r in self.records if r.event is not None]

    @property
    def prompt_id(self) -> str:
        return self.prompt_ids[0]


def _record(raw: dict[str, Any]) -> Record | None:
    kind = raw.get("kind")
    t = float(raw.get("t", 0.0))
    if kind == "text":
        return Record(t, "text", event=parse_text(str(raw["text"])))
    if kind == "binary":
        return Record(t, "binary", event=parse_binary(base64.b64decode(raw["b64"])))
    if kind == "http":
        return Record(
            t,
            "http",
            method=str(raw.get("method", "GET")),
            path=str(raw.get("path", "")),
            sent=float(raw.get("sent", t)),
            status=int(raw.get("status", 0)),
            body=raw.get("body"),
            request=raw.get("request"),
        )
    if kind == "note":
        return Record(t, "note", text=str(raw.get("text", "")))
    return None


def load_stream(path: str | Path) -> Stream:
    """Read a JSONL recording."""
    lines = Path(path).read_text().splitlines()
    meta = json.loads(lines[0]) if lines else {}
    stream = Stream(
        scenario=str(meta.get("scenario", Path(path).stem)),
        role=str(meta.get("role", "")),
        client_id=str(meta.get("client_id", "")),
        prompt_ids=[str(p) for p in meta.get("prompt_ids", [])],
    )
    for line in lines[1:]:
        if line.strip():
            rec = _record(json.loads(line))
            if rec is not None:
                stream.records.append(rec)
    return stream


def _apply_http(state: DashboardState, rec: Record, t0: float) -> None:
    if rec.status != 200:
        return
    if rec.method == "POST" and rec.path == "/prompt":
        req = rec.request if isinstance(rec.request, dict) else {}
        body = rec.body if isinstance(rec.body, dict) else {}
        if req.get("client_id") == state.client_id and body.get("prompt_id"):
            state.note_submitted(
                str(body["prompt_id"]),
                req.get("prompt") or {},
                t0 + rec.t,
                extra_data=req.get("extra_data"),
                number=body.get("number"),
            )
        return
    if rec.method != "GET":
        return
    if rec.path == "/queue":
        state.set_queue(QueueSnapshot.from_raw(rec.body), t0 + rec.sent)
    elif rec.path.startswith("/history") and isinstance(rec.body, dict):
        state.add_history(HistoryEntry.from_raw(pid, raw) for pid, raw in rec.body.items())


def replay(
    state: DashboardState,
    stream: Stream,
    *,
    t0: float = 1_700_000_000.0,
    http: bool = True,
    until: Callable[[Record], bool] | None = None,
    connect: bool = True,
) -> DashboardState:
    """Feed the recording to ``state`` (times are ``t0 + t``); stop before the first record ``until`` accepts.

    ``connect`` first applies the ``Connected`` event the live client makes up when its socket opens.
    """
    if connect:
        state.apply(Connected(stream.client_id), t0)
    for rec in stream.records:
        if until is not None and until(rec):
            break
        if rec.event is not None:
            state.apply(rec.event, t0 + rec.t)
        elif http and rec.kind == "http":
            _apply_http(state, rec, t0)
    return state
