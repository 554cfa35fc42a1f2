"""Typed views of the JSON the ComfyUI server returns.

Every ``from_raw``/``parse_*`` function accepts whatever the server (or a proxy, or a custom node) sends and never
raises: missing or odd fields become defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from comfytui.client.errors import InputError, parse_node_errors
from comfytui.client.lenient import as_int as _int
from comfytui.client.lenient import opt_str as _opt_str

__all__ = [
    "Device",
    "HistoryEntry",
    "OutputFile",
    "QueueItem",
    "QueueSnapshot",
    "SubmitResult",
    "SystemStats",
]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return list(value) if isinstance(value, tuple) else []


def _float(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return default



def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None



# --- queue -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One queue entry: ``[number, prompt_id, prompt, extra_data, outputs_to_execute]``."""

    number: float
    prompt_id: str
    prompt: dict[str, Any] = field(default_factory=dict, repr=False)
    extra_data: dict[str, Any] = field(default_factory=dict, repr=False)
    outputs_to_execute: list[str] = field(default_factory=list)

    @property
    def client_id(self) -> str | None:
        """The submitting client's id, if it sent one."""
        return _opt_str(self.extra_data.get("client_id"))

    @property
    def create_time(self) -> int | None:
        """When the server accepted it (ms since the epoch), if recorded."""
        return _opt_int(self.extra_data.get("create_time"))

    @classmethod
    def from_raw(cls, raw: Any) -> QueueItem:
        """Build from the raw array; tolerates short or malformed arrays."""
        items = _list(raw)
        padded = [*items, None, None, None, None, None][:5]
        number, prompt_id, prompt, extra, outputs = padded
        return cls(
            number=_float(number),
            prompt_id="" if prompt_id is None else str(prompt_id),
            prompt=_dict(prompt),
            extra_data=_dict(extra),
            outputs_to_execute=[str(x) for x in _list(outputs)],
        )


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """``GET /queue``: the running item (0 or 1) and the pending ones in run order."""

    running: list[QueueItem] = field(default_factory=list)
    pending: list[QueueItem] = field(default_factory=list)

    @property
    def running_id(self) -> str | None:
        """The prompt id being executed, if any."""
        return self.running[0].prompt_id if self.running else None

    def __len__(self) -> int:
        return len(self.running) + len(self.pending)

    def __contains__(self, prompt_id: object) -> bool:
        return any(i.prompt_id == prompt_id for i in (*self.running, *self.pending))

    @classmethod
    def from_raw(cls, raw: Any) -> QueueSnapshot:
        d = _dict(raw)
        running = [QueueItem.from_raw(x) for x in _list(d.get("queue_running"))]
        pending = [QueueItem.from_raw(x) for x in _list(d.get("queue_pending"))]
        pending.sort(key=lambda i: (i.number, i.prompt_id))
        return cls(running=running, pending=pending)


# --- outputs / history ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file the server can serve through ``/view``."""

    filename: str
    subfolder: str = ""
    type: str = "output"  # "output" | "temp" | "input"

    @classmethod
    def from_raw(cls, raw: Any) -> OutputFile | None:
        """From ``{"filename","subfolder","type"}`` (or the upload answer's ``name``); None if unusable."""
        d = _dict(raw)
        name = d.get("filename", d.get("name"))
        if not isinstance(name, str) or not name:
            return None
        return cls(filename=name, subfolder=str(d.get("subfolder") or ""), type=str(d.get("type") or "output"))

    @property
    def annotated(self) -> str:
        """The ``name [type]`` form LoadImage-style inputs accept, with the subfolder."""
        path = f"{self.subfolder}/{self.filename}" if self.subfolder else self.filename
        return path if self.type == "input" else f"{path} [{self.type}]"


_END_MESSAGES = ("execution_success", "execution_error", "execution_interrupted")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One finished run from ``/history``."""

    prompt_id: str
    number: float = 0.0
    prompt: dict[str, Any] = field(default_factory=dict, repr=False)
    extra_data: dict[str, Any] = field(default_factory=dict, repr=False)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    status_str: str | None = None
    completed: bool = False
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list, repr=False)
    outputs_to_execute: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def from_raw(cls, prompt_id: str, raw: Any) -> HistoryEntry:
        d = _dict(raw)
        item = QueueItem.from_raw(d.get("prompt"))
        outputs = {str(k): v for k, v in _dict(d.get("outputs")).items() if isinstance(v, dict)}
        status = _dict(d.get("status"))
        messages: list[tuple[str, dict[str, Any]]] = []
        for m in _list(status.get("messages")):
            pair = _list(m)
            if len(pair) >= 2 and isinstance(pair[0], str):
                messages.append((pair[0], _dict(pair[1])))
        return cls(
            prompt_id=str(prompt_id),
            number=item.number,
            prompt=item.prompt,
            extra_data=item.extra_data,
            outputs=outputs,
            status_str=_opt_str(status.get("status_str")),
            completed=bool(status.get("completed", False)),
            messages=messages,
            outputs_to_execute=item.outputs_to_execute,
        )

    def _message(self, *kinds: str) -> dict[str, Any] | None:
        for kind, data in self.messages:
            if kind in kinds:
                return data
        return None

    @property
    def client_id(self) -> str | None:
        return _opt_str(self.extra_data.get("client_id"))

    @property
    def files(self) -> list[tuple[str, str, OutputFile]]:
        """Every file-like output as ``(node_id, key, file)`` (images, gifs, audio, video...)."""
        found: list[tuple[str, str, OutputFile]] = []
        for node_id, out in self.outputs.items():
            for key, values in out.items():
                for v in _list(values):
                    f = OutputFile.from_raw(v) if isinstance(v, dict) and "filename" in v else None
                    if f is not None:
                        found.append((node_id, key, f))
        return found

    @property
    def images(self) -> list[tuple[str, OutputFile]]:
        """``(node_id, file)`` for every entry under an ``images`` output key."""
        found: list[tuple[str, OutputFile]] = []
        for node_id, out in self.outputs.items():
            for v in _list(out.get("images")):
                f = OutputFile.from_raw(v)
                if f is not None:
                    found.append((node_id, f))
        return found

    @property
    def start_time(self) -> int | None:
        """``execution_start`` timestamp (ms)."""
        m = self._message("execution_start")
        return None if m is None else _opt_int(m.get("timestamp"))

    @property
    def end_time(self) -> int | None:
        """Timestamp (ms) of the success / error / interrupted message."""
        m = self._message(*_END_MESSAGES)
        return None if m is None else _opt_int(m.get("timestamp"))

    @property
    def duration(self) -> float | None:
        """Run time in seconds, when both timestamps are known."""
        start, end = self.start_time, self.end_time
        if start is None or end is None:
            return None
        return max(0.0, (end - start) / 1000.0)

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``execution_error`` message data, if the run failed."""
        return self._message("execution_error")

    @property
    def interrupted(self) -> bool:
        return self._message("execution_interrupted") is not None

    @property
    def cached_nodes(self) -> list[str]:
        m = self._message("execution_cached")
        return [] if m is None else [str(n) for n in _list(m.get("nodes"))]

    @property
    def outcome(self) -> str:
        """``success`` | ``cached`` (every node was cached) | ``failed`` | ``interrupted`` | ``unknown``."""
        if self.interrupted:
            return "interrupted"
        if self.error is not None:
            return "failed"
        if self.status_str == "success" or self._message("execution_success") is not None:
            if self.prompt and set(self.prompt) <= set(self.cached_nodes):
                return "cached"
            return "success"
        if self.status_str == "error":
            return "failed"
        return "unknown"


# --- system -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    type: str
    index: int | None = None
    vram_total: int = 0
    vram_free: int = 0
    torch_vram_total: int = 0
    torch_vram_free: int = 0

    @classmethod
    def from_raw(cls, raw: Any) -> Device:
        d = _dict(raw)
        return cls(
            name=str(d.get("name", "?")),
            type=str(d.get("type", "?")),
            index=_opt_int(d.get("index")),
            vram_total=_int(d.get("vram_total")),
            vram_free=_int(d.get("vram_free")),
            torch_vram_total=_int(d.get("torch_vram_total")),
            torch_vram_free=_int(d.get("torch_vram_free")),
        )


@dataclass(frozen=True, slots=True)
class SystemStats:
    """``GET /system_stats``."""

    os: str = ""
    comfyui_version: str = ""
    python_version: str = ""
    pytorch_version: str = ""
    embedded_python: bool = False
    ram_total: int = 0
    ram_free: int = 0
    argv: list[str] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> SystemStats:
        d = _dict(raw)
        s = _dict(d.get("system"))
        return cls(
            os=str(s.get("os", "")),
            comfyui_version=str(s.get("comfyui_version", "")),
            python_version=str(s.get("python_version", "")),
            pytorch_version=str(s.get("pytorch_version", "")),
            embedded_python=bool(s.get("embedded_python", False)),
            ram_total=_int(s.get("ram_total")),
            ram_free=_int(s.get("ram_free")),
            argv=[str(a) for a in _list(s.get("argv"))],
            devices=[Device.from_raw(x) for x in _list(d.get("devices"))],
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """``POST /prompt`` accepted the prompt (``node_errors`` non-empty means only part of it was queued)."""

    prompt_id: str
    number: float
    node_errors: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> dict[str, list[InputError]]:
        """``node_errors`` parsed (outputs that were dropped from a partially valid prompt)."""
        return parse_node_errors(self.node_errors)

    @classmethod
    def from_raw(cls, raw: Any, fallback_id: str = "") -> SubmitResult:
        d = _dict(raw)
        pid = d.get("prompt_id")
        return cls(
            prompt_id=fallback_id if pid is None else str(pid),
            number=_float(d.get("number")),
            node_errors=_dict(d.get("node_errors")),
        )
