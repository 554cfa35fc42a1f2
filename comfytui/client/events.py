"""Typed events decoded from ComfyUI's WebSocket, plus connection-state events."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from comfytui.client.lenient import as_int as _int
from comfytui.client.lenient import opt_str as _opt_str

__all__ = [
    "Connected",
    "Disconnected",
    "Event",
    "Executed",
    "Executing",
    "ExecutionCached",
    "ExecutionError",
    "ExecutionInterrupted",
    "ExecutionStart",
    "ExecutionSuccess",
    "FeatureFlags",
    "LogEntry",
    "Logs",
    "NodeProgress",
    "Preview",
    "Progress",
    "ProgressState",
    "ProgressText",
    "Reconnecting",
    "Status",
    "UnknownEvent",
    "parse_binary",
    "parse_message",
    "parse_text",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every event."""


# --- connection state -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """The socket is open; `sid` is the client id the server knows us by."""

    sid: str


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The socket dropped (or could not be opened)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconnecting(Event):
    """The next connection attempt starts in `delay` seconds."""

    attempt: int
    delay: float


# --- server messages --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status(Event):
    queue_remaining: int
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionStart(Event):
    prompt_id: str
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class ExecutionCached(Event):
    prompt_id: str
    nodes: tuple[str, ...]
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class Executing(Event):
    """`node is None` means the prompt finished."""

    prompt_id: str | None
    node: str | None
    display_node: str | None = None


@dataclass(frozen=True, slots=True)
class Progress(Event):
    prompt_id: str | None
    node: str | None
    value: int
    max: int


@dataclass(frozen=True, slots=True)
class NodeProgress:
    node_id: str
    value: float
    max: float
    state: str  # "running" | "finished" | "error"
    display_node_id: str | None = None
    parent_node_id: str | None = None
    real_node_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressState(Event):
    prompt_id: str | None
    nodes: dict[str, NodeProgress]


@dataclass(frozen=True, slots=True)
class Executed(Event):
    prompt_id: str | None
    node: str
    output: dict[str, Any] | None
    display_node: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionSuccess(Event):
    prompt_id: str
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class ExecutionError(Event):
    prompt_id: str
    node_id: str | None
    node_type: str | None
    exception_message: str
    exception_type: str
    traceback: tuple[str, ...] = ()
    executed: tuple[str, ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class ExecutionInterrupted(Event):
    prompt_id: str
    node_id: str | None
    node_type: str | None
    executed: tuple[str, ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    t: str
    m: str


@dataclass(frozen=True, slots=True)
class Logs(Event):
    entries: tuple[LogEntry, ...]


@dataclass(frozen=True, slots=True)
class FeatureFlags(Event):
    flags: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Preview(Event):
    """A latent preview frame (binary type 1 or 4)."""

    image: bytes = field(repr=False)
    mime: str  # "image/jpeg" | "image/png"
    prompt_id: str | None = None
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressText(Event):
    """Binary type 3: a node's progress text."""

    node_id: str
    text: str


@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    """Any message we do not model (custom nodes send their own)."""

    type: str
    data: Any


# --- decoding ---------------------------------------------------------------



def _ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value)



def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _node_progress(raw: dict[str, Any], key: str) -> NodeProgress:
    return NodeProgress(
        node_id=str(raw.get("node_id", key)),
        value=float(raw.get("value", 0) or 0),
        max=float(raw.get("max", 0) or 0),
        state=str(raw.get("state", "running")),
        display_node_id=_opt_str(raw.get("display_node_id")),
        parent_node_id=_opt_str(raw.get("parent_node_id")),
        real_node_id=_opt_str(raw.get("real_node_id")),
    )


def _parse_known(kind: str, d: dict[str, Any]) -> Event | None:
    pid = _opt_str(d.get("prompt_id"))
    if kind == "status":
        info = (d.get("status") or {}).get("exec_info") or {}
        return Status(queue_remaining=_int(info.get("queue_remaining")), sid=_opt_str(d.get("sid")))
    if kind == "execution_start":
        return ExecutionStart(prompt_id=str(pid), timestamp=_opt_int(d.get("timestamp")))
    if kind == "execution_cached":
        return ExecutionCached(str(pid), _ids(d.get("nodes")), _opt_int(d.get("timestamp")))
    if kind == "executing":
        return Executing(pid, _opt_str(d.get("node")), _opt_str(d.get("display_node")))
    if kind == "progress":
        return Progress(pid, _opt_str(d.get("node")), _int(d.get("value")), _int(d.get("max")))
    if kind == "progress_state":
        nodes = d.get("nodes") or {}
        return ProgressState(pid, {str(k): _node_progress(v, str(k)) for k, v in nodes.items()})
    if kind == "executed":
        out = d.get("output")
        return Executed(
            pid, str(d.get("node")), out if isinstance(out, dict) else None, _opt_str(d.get("display_node"))
        )
    if kind == "execution_success":
        return ExecutionSuccess(str(pid), _opt_int(d.get("timestamp")))
    if kind == "execution_error":
        return ExecutionError(
            prompt_id=str(pid),
            node_id=_opt_str(d.get("node_id")),
            node_type=_opt_str(d.get("node_type")),
            exception_message=str(d.get("exception_message", "")),
            exception_type=str(d.get("exception_type", "")),
            traceback=tuple(str(x) for x in d.get("traceback") or ()),
            executed=_ids(d.get("executed")),
            timestamp=_opt_int(d.get("timestamp")),
        )
    if kind == "execution_interrupted":
        return ExecutionInterrupted(
            prompt_id=str(pid),
            node_id=_opt_str(d.get("node_id")),
            node_type=_opt_str(d.get("node_type")),
            executed=_ids(d.get("executed")),
            timestamp=_opt_int(d.get("timestamp")),
        )
    if kind == "logs":
        entries = tuple(LogEntry(str(e.get("t", "")), str(e.get("m", ""))) for e in d.get("entries") or ())
        return Logs(entries)
    if kind == "feature_flags":
        return FeatureFlags(dict(d))
    return None


def parse_message(message: Any) -> Event:
    """Turn one decoded JSON message into an event; never raises."""
    if not isinstance(message, dict):
        return UnknownEvent("?", message)
    kind = str(message.get("type", "?"))
    data = message.get("data")
    if not isinstance(data, dict):
        return UnknownEvent(kind, data)
    try:
        event = _parse_known(kind, data)
    except (AttributeError, TypeError, ValueError, ArithmeticError, RecursionError):
        event = None
    return event if event is not None else UnknownEvent(kind, data)


def parse_text(text: str) -> Event:
    """Decode a text frame."""
    try:
        return parse_message(json.loads(text))
    except (ValueError, RecursionError):
        return UnknownEvent("invalid_json", text)


_IMAGE_FORMATS = {1: "image/jpeg", 2: "image/png"}


def parse_binary(frame: bytes) -> Event:
    """Decode a binary frame: 1 preview, 3 text, 4 preview with metadata."""
    if len(frame) < 4:
        return UnknownEvent("binary", frame)
    (kind,) = struct.unpack(">I", frame[:4])
    body = frame[4:]
    try:
        if kind == 1 and len(body) >= 4:
            (fmt,) = struct.unpack(">I", body[:4])
            return Preview(image=body[4:], mime=_IMAGE_FORMATS.get(fmt, "image/jpeg"))
        if kind == 3 and len(body) >= 4:
            (n,) = struct.unpack(">I", body[:4])
            node_id = body[4 : 4 + n].decode("utf-8", "replace")
            return ProgressText(node_id=node_id, text=body[4 + n :].decode("utf-8", "replace"))
        if kind == 4 and len(body) >= 4:
            (n,) = struct.unpack(">I", body[:4])
            meta = json.loads(body[4 : 4 + n].decode("utf-8"))
            if not isinstance(meta, dict):
                meta = {}
            return Preview(
                image=body[4 + n :],
                mime=str(meta.get("image_type", "image/jpeg")),
                prompt_id=_opt_str(meta.get("prompt_id")),
                node_id=_opt_str(meta.get("node_id")),
            )
    except (ValueError, RecursionError):
        pass
    return UnknownEvent(f"binary:{kind}", frame)
