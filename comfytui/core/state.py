"""The dashboard's state: WebSocket events and HTTP snapshots in, plain data out.

Pure: no I/O, no asyncio, no Textual. Every mutator takes the current time (``now``, epoch seconds) from the
caller, so a recorded stream replays deterministically. Each change bumps ``version`` and adds an area name to
``dirty``; the UI repaints only what changed (``take_dirty``).

Cost per event is O(1) in the size of the queue and history (a ``progress_state`` event touches the nodes it lists).
History entries are kept lean: the API graph and extra data of a finished prompt are stored zlib-packed (without the
UI workflow, see ``PromptView.extra_stripped``), and its node list is derived on demand.

Snapshots and events race: ``set_queue(snapshot, now)`` takes the time the request was *sent*, and news from events
newer than that wins (a stale snapshot never moves a started prompt back to pending). Prompts of other clients are
``mine=False``; ``detailed`` becomes True only when per-node events reach us (prompts sent without a client id).
``comfytui.core.replay`` feeds recorded server streams through this class (tests, benchmarks, UI snapshots).
"""

from __future__ import annotations

import bisect
import heapq
import json
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from comfytui.client.events import (
    Connected,
    Disconnected,
    Event,
    Executed,
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    FeatureFlags,
    LogEntry,
    Logs,
    Preview,
    Progress,
    ProgressState,
    ProgressText,
    Reconnecting,
    Status,
)
from comfytui.client.models import HistoryEntry, OutputFile, QueueItem, QueueSnapshot, SystemStats

__all__ = [
    "AREAS",
    "FINISHED",
    "ConnectionInfo",
    "DashboardState",
    "NodeState",
    "NodeStatus",
    "PromptStatus",
    "PromptView",
    "StepProgress",
    "execution_order",
    "node_title",
    "prompt_title",
]

NodeStatus = Literal["pending", "cached", "running", "done", "failed"]
PromptStatus = Literal["pending", "running", "success", "failed", "interrupted", "cached", "unknown"]
ConnectionState = Literal["connecting", "connected", "reconnecting", "offline"]

#: Statuses of a prompt that has finished running.
FINISHED: frozenset[str] = frozenset({"success", "failed", "interrupted", "cached"})
#: Every area name that can appear in ``DashboardState.dirty``.
AREAS: frozenset[str] = frozenset({"connection", "queue", "graph", "progress", "preview", "history", "stats", "logs"})

_TITLE_MAX = 120
_PREVIEW_PROMPTS = 16  # previews kept for this many prompts (latest frame each)
_RATE_WINDOW_S = 3.0  # it/s is measured over the last few seconds (at least the last two samples) ...
_RATE_WINDOW_N = 64  # ... and at most this many samples


# --- plain data -------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class NodeState:
    """One node of a prompt as the dashboard shows it."""

    node_id: str
    class_type: str
    title: str
    status: NodeStatus = "pending"
    value: float = 0
    max: float = 0
    started: float | None = None
    ended: float | None = None
    text: str | None = None  # the node's progress text (binary TEXT frames), if any

    @property
    def duration(self) -> float | None:
        """Seconds it ran, once it has ended."""
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)


@dataclass(slots=True)
class StepProgress:
    """The sampler-style step progress of the node currently reporting ``progress``."""

    prompt_id: str | None
    node_id: str | None
    value: float
    max: float
    rate: float | None  # steps (it) per second, over the last few seconds; None until two samples
    eta: float | None  # seconds left at that rate
    started: float  # when this node's progress began (first sample)
    updated: float = 0.0
    _samples: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_RATE_WINDOW_N), repr=False)

    @property
    def fraction(self) -> float:
        """0..1 (0 if max is unknown)."""
        return min(1.0, self.value / self.max) if self.max > 0 else 0.0


@dataclass(slots=True)
class ConnectionInfo:
    """The WebSocket's state as the header shows it."""

    state: ConnectionState = "connecting"
    sid: str | None = None
    retry_in: float | None = None  # the delay announced by the last Reconnecting event
    attempt: int = 0
    last_error: str | None = None
    retry_at: float | None = None  # epoch seconds of the next attempt (for a "reconnecting in Ns" countdown)
    since: float | None = None  # when the state last changed
    error_at: float | None = None  # when last_error was set by a failed request


@dataclass(slots=True, eq=False)
class PromptView:
    """A prompt the dashboard knows: queued, running or finished.

    ``prompt``/``extra_data``/``nodes`` are properties: finished prompts keep them packed and derive nodes lazily.
    """

    prompt_id: str
    number: float = 0.0
    title: str = ""
    mine: bool = False
    detailed: bool = False
    status: PromptStatus = "pending"
    created: float | None = None
    started: float | None = None
    ended: float | None = None
    current_node: str | None = None
    error: dict[str, Any] | None = None
    outputs: list[tuple[str, OutputFile]] = field(default_factory=list)
    client_id: str | None = None
    outputs_to_execute: tuple[str, ...] = ()
    #: True when extra_data was stored without ``extra_pnginfo`` (the UI workflow): fetch the history entry for it.
    extra_stripped: bool = False
    #: True once merged from the server's ``/history`` (its outcome, outputs and timestamps are final)
    from_server: bool = False
    seen: float = 0.0  # when we last had authoritative news of it (event or snapshot time)
    order_key: float = 0.0  # history sort key (server end time, ms)
    _prompt: dict[str, Any] | None = field(default=None, repr=False)
    _extra: dict[str, Any] | None = field(default=None, repr=False)
    _packed: bytes | None = field(default=None, repr=False)
    _nodes: dict[str, NodeState] | None = field(default=None, repr=False)
    _cached: tuple[str, ...] = field(default=(), repr=False)
    _executed: tuple[str, ...] | None = field(default=None, repr=False)

    # -- graph ----------------------------------------------------------------------------------------------------

    @property
    def prompt(self) -> dict[str, Any]:
        """The API-format graph ({} if unknown)."""
        if self._prompt is not None:
            return self._prompt
        if self._packed is not None:
            return dict(_unpack(self._packed)[0])
        return {}

    @property
    def extra_data(self) -> dict[str, Any]:
        """The ``extra_data`` it was queued with (without the UI workflow if ``extra_stripped``)."""
        if self._extra is not None:
            return self._extra
        if self._packed is not None:
            return dict(_unpack(self._packed)[1])
        return {}

    @property
    def nodes(self) -> dict[str, NodeState]:
        """Node states in execution order (built on first access for prompts we did not watch)."""
        if self._nodes is None:
            self._nodes = _derive_nodes(self)
        return self._nodes

    @property
    def has_nodes(self) -> bool:
        """Whether the node list has been built (cheap check, does not build it)."""
        return self._nodes is not None

    @property
    def nodes_done(self) -> int:
        return sum(1 for n in self.nodes.values() if n.status == "done" or n.status == "cached")

    @property
    def nodes_total(self) -> int:
        return len(self.nodes)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once finished."""
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def short_id(self) -> str:
        return self.prompt_id[:8]

    @property
    def packed(self) -> bool:
        return self._packed is not None

    def node(self, node_id: str, class_type: str | None = None) -> NodeState:
        """The node's state, adding it if the graph did not have it (expanded/dynamic nodes)."""
        nodes = self.nodes
        ns = nodes.get(node_id)
        if ns is None:
            ct = class_type or "?"
            ns = nodes[node_id] = NodeState(node_id, ct, ct)
        return ns


# --- helpers: titles, order -------------------------------------------------------------------------------------


def node_title(node: Any) -> str:
    """``_meta.title`` or the class type."""
    if not isinstance(node, dict):
        return "?"
    meta = node.get("_meta")
    if isinstance(meta, dict) and isinstance(meta.get("title"), str) and meta["title"].strip():
        return str(meta["title"])
    return str(node.get("class_type") or "?")


def _id_key(node_id: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in node_id.split(":"))


def _links(node: Any) -> Iterator[str]:
    inputs = node.get("inputs") if isinstance(node, dict) else None
    if not isinstance(inputs, dict):
        return
    for v in inputs.values():
        if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str | int) and isinstance(v[1], int):
            yield str(v[0])


def upstream(prompt: dict[str, Any], node_id: str) -> set[str]:
    """Every node whose output ``node_id`` consumes, directly or not."""
    seen: set[str] = set()
    todo = list(_links(prompt.get(node_id)))
    while todo:
        nid = todo.pop()
        if nid not in seen:
            seen.add(nid)
            todo.extend(_links(prompt.get(nid)))
    return seen


def execution_order(prompt: dict[str, Any], outputs: Iterable[str] = ()) -> list[str]:
    """Node ids in a topological order (inputs first, ties by numeric id).

    With ``outputs`` given, only the nodes those outputs depend on are listed (what the server will run).
    Cycles or dangling links never raise: leftover nodes are appended in id order.
    """
    ids = list(prompt)
    wanted = [o for o in outputs if o in prompt]
    if wanted:
        keep: set[str] = set()
        stack = list(wanted)
        while stack:
            nid = stack.pop()
            if nid in keep or nid not in prompt:
                continue
            keep.add(nid)
            stack.extend(_links(prompt[nid]))
        ids = [i for i in ids if i in keep]
    idset = set(ids)
    deps: dict[str, set[str]] = {i: {s for s in _links(prompt[i]) if s in idset and s != i} for i in ids}
    users: dict[str, list[str]] = {i: [] for i in ids}
    for i, ds in deps.items():
        for d in ds:
            users[d].append(i)
    indeg = {i: len(ds) for i, ds in deps.items()}
    heap = [(_id_key(i), i) for i in ids if indeg[i] == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, nid = heapq.heappop(heap)
        order.append(nid)
        for u in users[nid]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, (_id_key(u), u))
    if len(order) < len(ids):
        done = set(order)
        order.extend(sorted((i for i in ids if i not in done), key=_id_key))
    return order


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _TITLE_MAX else line[: _TITLE_MAX - 1] + "…"


def _workflow_name(extra_data: dict[str, Any]) -> str | None:
    for key in ("workflow_name", "name", "title"):
        v = extra_data.get(key)
        if isinstance(v, str) and v.strip():
            return v
    comfytui = extra_data.get("comfytui")
    if isinstance(comfytui, dict):
        for key in ("workflow", "name", "title"):
            v = comfytui.get(key)
            if isinstance(v, str) and v.strip():
                return v
    pnginfo = extra_data.get("extra_pnginfo")
    workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
    if isinstance(workflow, dict):
        extra = workflow.get("extra")
        for holder in (extra if isinstance(extra, dict) else {}, workflow):
            for key in ("name", "title", "filename"):
                v = holder.get(key)
                if isinstance(v, str) and v.strip():
                    return v
    return None


def prompt_title(prompt: dict[str, Any], extra_data: dict[str, Any] | None = None) -> str:
    """A one-line title: the positive text prompt, else the workflow's name, else the first output node's class."""
    texts: dict[str, str] = {}
    for nid, node in prompt.items():
        if not isinstance(node, dict) or node.get("class_type") != "CLIPTextEncode":
            continue
        text = (node.get("inputs") or {}).get("text")
        if isinstance(text, str) and text.strip():
            texts[str(nid)] = text
    if texts:
        # prefer the text wired into a sampler's "positive" input
        for node in prompt.values():
            inputs = node.get("inputs") if isinstance(node, dict) else None
            pos = inputs.get("positive") if isinstance(inputs, dict) else None
            if isinstance(pos, list) and pos and str(pos[0]) in texts:
                return _one_line(texts[str(pos[0])])
        return _one_line(texts[min(texts, key=_id_key)])
    name = _workflow_name(extra_data or {})
    if name:
        return _one_line(name)
    if prompt:
        outs = [i for i, n in prompt.items() if isinstance(n, dict) and "Save" in str(n.get("class_type", ""))]
        first = min(outs or list(prompt), key=_id_key)
        return node_title(prompt[first])
    return ""


def _pack(prompt: dict[str, Any], extra: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps([prompt, extra], separators=(",", ":")).encode(), 6)


def _unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        prompt, extra = json.loads(zlib.decompress(blob))
    except (ValueError, zlib.error):
        return {}, {}
    return (prompt if isinstance(prompt, dict) else {}), (extra if isinstance(extra, dict) else {})


def _nodes_from_prompt(prompt: dict[str, Any], outputs: Iterable[str] = ()) -> dict[str, NodeState]:
    nodes: dict[str, NodeState] = {}
    for nid in execution_order(prompt, outputs):
        raw = prompt[nid]
        ct = str(raw.get("class_type") or "?") if isinstance(raw, dict) else "?"
        nodes[nid] = NodeState(nid, ct, node_title(raw))
    return nodes


def _derive_nodes(pv: PromptView) -> dict[str, NodeState]:
    """Node list of a prompt we have no live node events for (queued or from /history)."""
    nodes = _nodes_from_prompt(pv.prompt, pv.outputs_to_execute)
    cached = set(pv._cached)
    if not pv.finished:
        for nid in cached:
            if nid in nodes:
                nodes[nid].status = "cached"
        return nodes
    failed_id = (pv.error or {}).get("node_id")
    executed = set(pv._executed) if pv._executed is not None else None
    for nid, ns in nodes.items():
        if nid in cached:
            ns.status = "cached"
        elif failed_id is not None and nid == failed_id:
            ns.status = "failed"
        elif executed is not None:
            ns.status = "done" if nid in executed else "pending"
        elif pv.status in ("success", "cached"):
            ns.status = "done"
    return nodes


def _error_dict(
    message: str, kind: str, traceback: Iterable[str], node_id: str | None, node_type: str | None
) -> dict[str, Any]:
    return {
        "exception_message": message,
        "exception_type": kind,
        "traceback": list(traceback),
        "node_id": node_id,
        "node_type": node_type,
    }


# --- the state --------------------------------------------------------------------------------------------------


class DashboardState:
    """Everything the dashboard shows, updated from events (``apply``) and HTTP snapshots."""

    def __init__(self, client_id: str, history_limit: int = 10_000, log_limit: int = 2_000) -> None:
        self.client_id = client_id
        self.history_limit = history_limit
        self.connection = ConnectionInfo()
        self.running: PromptView | None = None
        self.prompts: dict[str, PromptView] = {}
        self.progress: StepProgress | None = None
        self.previews: dict[str, Preview] = {}
        self.history: list[PromptView] = []
        self.stats: SystemStats | None = None
        self.logs: deque[LogEntry] = deque(maxlen=log_limit)
        self.queue_remaining = 0
        self.server_flags: dict[str, Any] = {}
        self.version = 0
        self.dirty: set[str] = set()
        self._pending: dict[str, PromptView] = {}
        self._pending_list: list[PromptView] | None = []
        self._in_history: set[str] = set()
        self._displaced: set[str] = set()  # were running, replaced before we learnt how they ended
        self._latest = 0.0  # the latest time any event or snapshot described
        self._history_keys: list[float] = []  # -order_key of each history entry, ascending (parallel to history)
        self._handlers: dict[type[Event], Callable[[Any, float], None]] = {
            Progress: self._on_progress,
            ProgressState: self._on_progress_state,
            Preview: self._on_preview,
            Executing: self._on_executing,
            Executed: self._on_executed,
            Status: self._on_status,
            ExecutionStart: self._on_start,
            ExecutionCached: self._on_cached,
            ExecutionSuccess: self._on_success,
            ExecutionError: self._on_error,
            ExecutionInterrupted: self._on_interrupted,
            ProgressText: self._on_text,
            Logs: self._on_logs,
            Connected: self._on_connected,
            Disconnected: self._on_disconnected,
            Reconnecting: self._on_reconnecting,
            FeatureFlags: self._on_flags,
        }

    # -- bookkeeping ------------------------------------------------------------------------------------------------

    def _touch(self, *areas: str) -> None:
        self.version += 1
        self.dirty.update(areas)

    def take_dirty(self) -> set[str]:
        """The areas changed since the last call (and clear them)."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    @property
    def pending(self) -> list[PromptView]:
        """Pending prompts in run order (ascending number)."""
        if self._pending_list is None:
            self._pending_list = sorted(self._pending.values(), key=lambda p: (p.number, p.prompt_id))
        return self._pending_list

    @property
    def queue(self) -> list[PromptView]:
        """The running prompt (if any) then the pending ones."""
        return ([self.running] if self.running is not None else []) + self.pending

    def get(self, prompt_id: str) -> PromptView | None:
        """Any known prompt by id (queued, running or in history), O(1)."""
        return self.prompts.get(prompt_id)

    def in_history(self, prompt_id: str) -> bool:
        return prompt_id in self._in_history

    def is_queued(self, prompt_id: str) -> bool:
        return prompt_id in self._pending or (self.running is not None and self.running.prompt_id == prompt_id)

    def preview_for(self, prompt_id: str | None) -> Preview | None:
        """The latest preview frame of a prompt."""
        return None if prompt_id is None else self.previews.get(prompt_id)

    def _view(self, prompt_id: str, now: float) -> PromptView:
        pv = self.prompts.get(prompt_id)
        if pv is None:
            pv = self.prompts[prompt_id] = PromptView(prompt_id, created=now, seen=now)
        return pv

    def _attach(self, pv: PromptView, prompt: dict[str, Any], extra: dict[str, Any], outputs: Iterable[str]) -> None:
        """Give a prompt created from events its graph; node states already seen are kept."""
        pv._prompt = prompt
        pv._extra = extra
        pv._packed = None
        pv.outputs_to_execute = tuple(outputs)
        pv.client_id = pv.client_id or (str(extra["client_id"]) if extra.get("client_id") is not None else None)
        if pv.client_id is not None and pv.client_id == self.client_id:
            pv.mine = True
        if not pv.title:
            pv.title = prompt_title(prompt, extra)
        if pv._nodes is not None:
            fresh = _nodes_from_prompt(prompt, pv.outputs_to_execute)
            old = pv._nodes
            cached = set(pv._cached)
            for nid, ns in fresh.items():
                prev = old.pop(nid, None)
                if prev is not None:
                    prev.class_type, prev.title = ns.class_type, ns.title
                    fresh[nid] = prev
                elif nid in cached:
                    ns.status = "cached"
            for nid, ns in old.items():  # nodes the server ran that the graph lacks (expansions)
                if ns.status != "cached":
                    fresh[nid] = ns
            pv._nodes = fresh
            if pv.current_node is not None and pv.detailed:  # broadcast progress came before the graph
                self._infer_cached(pv, pv.current_node)

    def _start_running(self, pv: PromptView, now: float) -> None:
        prev = self.running
        if prev is not None and prev is not pv and not prev.finished:
            # the previous one ended without us seeing it (not ours): the next /queue snapshot reports it as left
            prev.current_node = None
            self._displaced.add(prev.prompt_id)
        self._displaced.discard(pv.prompt_id)
        if pv.prompt_id in self._in_history:  # settled as lost/unknown, but it is running after all
            self._revive(pv)
        self.running = pv
        if self._pending.pop(pv.prompt_id, None) is not None:
            self._pending_list = None
        if pv.status == "pending" or pv.status == "unknown":
            pv.status = "running"
        if pv.started is None:
            pv.started = now

    def _revive(self, pv: PromptView) -> None:
        """A prompt we had settled without a server outcome turns out to be queued or running."""
        self._history_remove(pv)
        if pv._packed is not None:
            pv._prompt, pv._extra = _unpack(pv._packed)
            pv._packed = None
        if pv.error is not None and pv.error.get("exception_type") == "lost":
            pv.error = None
        pv.ended = None

    def _rerun(self, pv: PromptView, item: QueueItem | None = None) -> None:
        """A finished prompt's id is queued again (ids may be reused): take it out of history, start afresh."""
        if pv.prompt_id in self._in_history:
            self._history_remove(pv)
        if item is not None and item.prompt:
            pv._prompt, pv._extra, pv._packed = item.prompt, item.extra_data, None
        elif pv._packed is not None:
            pv._prompt, pv._extra = _unpack(pv._packed)
            pv._packed = None
        pv.status, pv.started, pv.ended, pv.error, pv.current_node = "pending", None, None, None, None
        pv.outputs, pv._nodes, pv._cached, pv._executed, pv.from_server = [], None, (), None, False
        self.previews.pop(pv.prompt_id, None)

    def _finish(self, pv: PromptView, status: PromptStatus, now: float, timestamp: int | None) -> None:
        pv.status = status
        pv.ended = pv.ended or now
        pv.seen = max(pv.seen, now)
        if pv.current_node is not None and pv._nodes is not None:
            ns = pv._nodes.get(pv.current_node)
            if ns is not None and ns.status == "running":
                ns.status = "failed" if status in ("failed", "interrupted") else "done"
                ns.ended = now
        pv.current_node = None
        if self.running is pv:
            self.running = None
        if self._pending.pop(pv.prompt_id, None) is not None:
            self._pending_list = None
        if self.progress is not None and self.progress.prompt_id == pv.prompt_id:
            self.progress = None
        self._to_history(pv, float(timestamp) if timestamp is not None else now * 1000.0)
        self._touch("queue", "graph", "progress", "history")

    # -- history ------------------------------------------------------------------------------------------------

    def _to_history(self, pv: PromptView, key: float) -> None:
        pid = pv.prompt_id
        if pid in self._in_history:
            if key == pv.order_key:
                return
            self._history_remove(pv)
        pv.order_key = key
        i = bisect.bisect_right(self._history_keys, -key)
        self._history_keys.insert(i, -key)
        self.history.insert(i, pv)
        self._in_history.add(pid)
        self._lean(pv)
        while len(self.history) > self.history_limit:
            old = self.history.pop()
            self._history_keys.pop()
            self._in_history.discard(old.prompt_id)
            if not self.is_queued(old.prompt_id) and self.prompts.get(old.prompt_id) is old:
                del self.prompts[old.prompt_id]
                self.previews.pop(old.prompt_id, None)

    def _history_remove(self, pv: PromptView) -> None:
        i = bisect.bisect_left(self._history_keys, -pv.order_key)
        while i < len(self.history) and self.history[i] is not pv:
            i += 1
        if i < len(self.history):
            del self.history[i]
            del self._history_keys[i]
        else:  # keys out of sync (should not happen): fall back to a scan
            idx = next(j for j, p in enumerate(self.history) if p is pv)
            del self.history[idx]
            del self._history_keys[idx]
        self._in_history.discard(pv.prompt_id)

    def _lean(self, pv: PromptView) -> None:
        """Pack a finished prompt's graph and drop the UI workflow from its extra data."""
        if pv._packed is not None or pv._prompt is None:
            return
        extra = pv._extra or {}
        if "extra_pnginfo" in extra:
            extra = {k: v for k, v in extra.items() if k != "extra_pnginfo"}
            pv.extra_stripped = True
        pv._packed = _pack(pv._prompt, extra)
        pv._prompt = None
        pv._extra = None

    # -- events -------------------------------------------------------------------------------------------------

    def apply(self, event: Event, now: float) -> None:
        """Apply one WebSocket (or connection) event; unknown events are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event, now)

    def apply_all(self, events: Iterable[Event], now: float) -> None:
        """Apply several events at one instant."""
        for e in events:
            self.apply(e, now)

    def _event_prompt(self, prompt_id: str | None, now: float, mine: bool) -> PromptView | None:
        if prompt_id is None:
            return self.running
        pv = self.prompts.get(prompt_id)
        if pv is None:
            pv = self._view(prompt_id, now)
            if mine:
                pv.mine = True
                pv.client_id = self.client_id
        elif mine and not pv.mine:
            pv.mine = True
        pv.detailed = True
        pv.seen = now
        if now > self._latest:
            self._latest = now
        if pv.status == "pending" or pv.status == "unknown":
            self._start_running(pv, now)
            self._touch("queue")
        return pv

    def _on_connected(self, e: Connected, now: float) -> None:
        c = self.connection
        c.state, c.sid, c.retry_in, c.retry_at, c.attempt, c.last_error, c.since = (
            "connected",
            e.sid,
            None,
            None,
            0,
            None,
            now,
        )
        self._touch("connection")

    def _on_disconnected(self, e: Disconnected, now: float) -> None:
        c = self.connection
        c.state, c.last_error, c.since, c.retry_in, c.retry_at = "offline", e.reason or c.last_error, now, None, None
        self._touch("connection")

    def _on_reconnecting(self, e: Reconnecting, now: float) -> None:
        c = self.connection
        if c.state != "reconnecting":
            c.since = now
        c.state, c.attempt, c.retry_in, c.retry_at = "reconnecting", e.attempt, e.delay, now + e.delay
        self._touch("connection")

    def _on_flags(self, e: FeatureFlags, now: float) -> None:
        self.server_flags = dict(e.flags)
        self._touch("connection")

    def _on_status(self, e: Status, now: float) -> None:
        if e.queue_remaining != self.queue_remaining:
            self.queue_remaining = e.queue_remaining
            self._touch("queue")
        if e.sid is not None and e.sid != self.connection.sid:
            self.connection.sid = e.sid
            self._touch("connection")

    def _on_start(self, e: ExecutionStart, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=True)
        if pv is None:
            return
        if pv.finished:
            self._rerun(pv)
        pv.status = "running"
        pv.started = now
        pv.ended = None
        self._start_running(pv, now)
        self._touch("queue", "graph")

    def _on_cached(self, e: ExecutionCached, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=True)
        if pv is None:
            return
        pv._cached = e.nodes
        graph_known = pv._prompt is not None or pv._packed is not None
        nodes = pv.nodes
        for nid in e.nodes:
            ns = nodes.get(nid)
            if ns is None and not graph_known:
                ns = pv.node(nid)  # no graph yet (it comes with /queue or /history): list what the server said
            if ns is not None and ns.status == "pending":
                ns.status = "cached"
        self._touch("graph")

    def _node_start(self, pv: PromptView, node_id: str, now: float) -> NodeState:
        prev_id = pv.current_node
        if prev_id is not None and prev_id != node_id:
            prev = pv.nodes.get(prev_id)
            if prev is not None and prev.status == "running":
                prev.status = "done"
                prev.ended = now
        ns = pv.node(node_id)
        if ns.status != "running":
            ns.status = "running"
            ns.started = now
            ns.ended = None
        pv.current_node = node_id
        return ns

    def _on_executing(self, e: Executing, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=e.prompt_id is not None)
        if pv is None:
            return
        if e.node is None:  # the prompt is over (sent after its history entry is written)
            if not pv.finished:
                self._finish(pv, "cached" if self._all_cached(pv) else "success", now, None)
            elif pv.current_node is not None:
                pv.current_node = None
                self._touch("graph")
            return
        if pv.finished:
            return
        self._node_start(pv, e.node, now)
        if self.progress is not None and self.progress.node_id != e.node and self.progress.prompt_id == pv.prompt_id:
            self.progress = None
            self._touch("progress")
        self._touch("graph")

    def _all_cached(self, pv: PromptView) -> bool:
        nodes = pv.nodes
        return bool(nodes) and all(n.status == "cached" for n in nodes.values())

    def _on_progress(self, e: Progress, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=False)
        pid = pv.prompt_id if pv is not None else e.prompt_id
        node_id = e.node
        if pv is not None and node_id is not None and not pv.finished:
            ns = pv.nodes.get(node_id)
            if ns is None or ns.status != "running":
                ns = self._node_start(pv, node_id, now)
            ns.value = e.value
            ns.max = e.max
            self._touch("graph")
        p = self.progress
        value = float(e.value)
        if p is None or p.prompt_id != pid or p.node_id != node_id or value < p.value or e.max != p.max:
            p = self.progress = StepProgress(pid, node_id, value, float(e.max), None, None, now, now)
        p.value = value
        p.updated = now
        samples = p._samples
        samples.append((now, value))
        while len(samples) > 2 and now - samples[0][0] > _RATE_WINDOW_S:
            samples.popleft()
        t0, v0 = samples[0]
        if now > t0 and value > v0:
            p.rate = (value - v0) / (now - t0)
        elif len(samples) > 1 and now - t0 >= 1.0 and value == v0:
            p.rate = 0.0  # stalled for a while
        p.eta = (p.max - value) / p.rate if p.rate else None
        self._touch("progress")

    def _on_progress_state(self, e: ProgressState, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=False)
        if pv is None or pv.finished:
            return
        nodes = pv.nodes
        changed = False
        running_id: str | None = None
        started: str | None = None
        for nid, np_ in e.nodes.items():
            ns = nodes.get(nid)
            if ns is None:
                ns = pv.node(nid)
            state = np_.state
            if ns.value != np_.value or ns.max != np_.max:
                ns.value, ns.max = np_.value, np_.max
                changed = True
            if state == "running":
                running_id = nid
                if ns.status != "running":
                    started = nid
                    if pv.current_node is not None and pv.current_node != nid:
                        self._node_start(pv, nid, now)
                    else:
                        ns.status, ns.started, ns.ended = "running", ns.started or now, None
                        pv.current_node = nid
                    changed = True
            elif state == "finished":
                if ns.status == "running" or ns.status == "pending":
                    if ns.started is None:
                        ns.started = now
                    ns.status, ns.ended = "done", now
                    changed = True
            elif state == "error" and ns.status != "failed":
                ns.status, ns.ended = "failed", now
                changed = True
        if running_id is not None and pv.current_node != running_id:
            pv.current_node = running_id
            changed = True
        if started is not None and self._infer_cached(pv, started):
            changed = True
        if changed:
            self._touch("graph")

    @staticmethod
    def _infer_cached(pv: PromptView, running: str) -> bool:
        """Another client's prompt: execution_cached is not broadcast, but progress_state lists every node that ran,
        so a node feeding the running one that is still pending came from the cache. True if any changed."""
        if pv.mine or pv._prompt is None or pv._nodes is None:
            return False
        changed = False
        for nid in upstream(pv._prompt, running):
            ns = pv._nodes.get(nid)
            if ns is not None and ns.status == "pending":
                ns.status = "cached"
                changed = True
        return changed

    def _on_executed(self, e: Executed, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=e.prompt_id is not None)
        if pv is None:
            return
        if e.output:
            seen = {(n, f) for n, f in pv.outputs}
            for values in e.output.values():
                if not isinstance(values, list):
                    continue
                for v in values:
                    f = OutputFile.from_raw(v) if isinstance(v, dict) and "filename" in v else None
                    if f is not None and (e.node, f) not in seen:
                        pv.outputs.append((e.node, f))
                        seen.add((e.node, f))
        ns = pv.nodes.get(e.node)
        if ns is not None and ns.status == "running":
            ns.status, ns.ended = "done", now
            if pv.current_node == e.node:
                pv.current_node = None
        self._touch("graph", "history") if pv.prompt_id in self._in_history else self._touch("graph")

    def _on_success(self, e: ExecutionSuccess, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=True)
        if pv is None:
            return
        self._finish(pv, "cached" if self._all_cached(pv) else "success", now, e.timestamp)

    def _on_error(self, e: ExecutionError, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=True)
        if pv is None:
            return
        pv.error = _error_dict(e.exception_message, e.exception_type, e.traceback, e.node_id, e.node_type)
        if e.executed:
            pv._executed = e.executed
        if e.node_id is not None:
            ns = pv.node(e.node_id, e.node_type)
            if ns.status != "failed":
                ns.status = "failed"
                ns.started = ns.started or now
                ns.ended = now
        self._finish(pv, "failed", now, e.timestamp)

    def _on_interrupted(self, e: ExecutionInterrupted, now: float) -> None:
        pv = self._event_prompt(e.prompt_id, now, mine=False)
        if pv is None:
            return
        if e.executed:
            pv._executed = e.executed
        if e.node_id is not None:
            ns = pv.node(e.node_id, e.node_type)
            if ns.status in ("running", "pending"):
                ns.status = "failed"
                ns.started = ns.started or now
                ns.ended = now
        self._finish(pv, "interrupted", now, e.timestamp)

    def _on_preview(self, e: Preview, now: float) -> None:
        pid = e.prompt_id
        if pid is None:
            if self.running is None:
                return
            pid = self.running.prompt_id
        pv = self.prompts.get(pid)
        if pv is not None and not pv.detailed:
            pv.detailed = True
            self._touch("queue")
        previews = self.previews
        if pid in previews:
            del previews[pid]  # re-insert: most recent last
        elif len(previews) >= _PREVIEW_PROMPTS:
            del previews[next(iter(previews))]
        previews[pid] = e
        self._touch("preview")

    def _on_text(self, e: ProgressText, now: float) -> None:
        pv = self.running
        if pv is None:
            return
        ns = pv.nodes.get(e.node_id)
        if ns is not None:
            ns.text = e.text
            self._touch("graph")

    def _on_logs(self, e: Logs, now: float) -> None:
        self.add_logs(e.entries)

    # -- snapshots ----------------------------------------------------------------------------------------------

    def note_submitted(
        self,
        prompt_id: str,
        prompt: dict[str, Any],
        now: float,
        extra_data: dict[str, Any] | None = None,
        number: float | None = None,
    ) -> PromptView:
        """Record a prompt this app just queued (before /queue shows it)."""
        pv = self._view(prompt_id, now)
        extra = dict(extra_data or {})
        extra.setdefault("client_id", self.client_id)
        if pv._prompt is None and pv._packed is None:
            self._attach(pv, prompt, extra, ())
        pv.mine = True
        pv.client_id = self.client_id
        if number is not None:
            pv.number = number
        pv.seen = max(pv.seen, now)
        if pv.status == "pending" and not self.is_queued(prompt_id) and pv.prompt_id not in self._in_history:
            self._pending[prompt_id] = pv
            self._pending_list = None
        self._touch("queue")
        return pv

    def _from_item(self, item: QueueItem, now: float) -> PromptView:
        pv = self.prompts.get(item.prompt_id)
        if pv is None:
            created = item.create_time
            pv = self.prompts[item.prompt_id] = PromptView(
                item.prompt_id, number=item.number, created=created / 1000.0 if created else now
            )
        if pv._prompt is None and pv._packed is None and item.prompt:
            self._attach(pv, item.prompt, item.extra_data, item.outputs_to_execute)
        elif not pv.outputs_to_execute and item.outputs_to_execute:
            pv.outputs_to_execute = tuple(item.outputs_to_execute)
        if item.create_time and (pv.created is None or pv.created > item.create_time / 1000.0):
            pv.created = item.create_time / 1000.0
        pv.number = item.number
        return pv

    def set_queue(self, snapshot: QueueSnapshot, now: float) -> list[str]:
        """Replace the queue with a ``/queue`` snapshot taken at ``now`` (the time the request was sent).

        News from events newer than the snapshot wins. Returns the ids that left the queue (fetch their history).
        """
        if now > self._latest:
            self._latest = now
        before = set(self._pending) | self._displaced
        if self.running is not None:
            before.add(self.running.prompt_id)
        in_snapshot: set[str] = set()
        # running
        run_item = snapshot.running[0] if snapshot.running else None
        if run_item is not None:
            in_snapshot.add(run_item.prompt_id)
            pv = self._from_item(run_item, now)
            if pv.finished and pv.seen <= now:
                self._rerun(pv, run_item)
            if pv.seen <= now and not pv.finished:
                cur = self.running
                if cur is None or cur is pv or cur.seen <= now:
                    self._start_running(pv, now)
                    pv.seen = now
        elif self.running is not None and self.running.seen <= now:
            self.running = None
        # pending
        new_pending: dict[str, PromptView] = {}
        for item in snapshot.pending:
            in_snapshot.add(item.prompt_id)
            pv = self._from_item(item, now)
            if pv.seen > now and (pv.status != "pending" or pv is self.running):
                continue  # events after the snapshot: it already started
            if pv.finished:
                self._rerun(pv, item)
            elif item.prompt_id in self._in_history:
                self._revive(pv)
            if pv is self.running:  # the snapshot is newer than what made us think it runs
                self.running = None
            pv.status = "pending"
            pv.seen = max(pv.seen, now)
            new_pending[item.prompt_id] = pv
        # keep pending prompts the snapshot cannot know yet (submitted after it was taken)
        for pid, pv in self._pending.items():
            if pid not in in_snapshot and pv.seen > now and pv.status == "pending":
                new_pending[pid] = pv
        self._pending = new_pending
        self._pending_list = None
        left: list[str] = []
        for pid in before:
            if pid in in_snapshot:
                continue
            self._displaced.discard(pid)
            gone = self.prompts.get(pid)
            if gone is None:
                continue
            if gone.seen > now and not gone.finished:
                continue
            if gone is self.running:
                self.running = None
            if pid not in self._in_history:
                left.append(pid)
                if not gone.finished:
                    gone.status = "unknown"
        self._touch("queue", "graph")
        return left

    def forget(self, prompt_ids: Iterable[str], now: float | None = None) -> None:
        """Prompts that left the queue and that ``/history`` does not know.

        Never started: deleted while pending, dropped. Started: the server lost it (restarted, or its entry was
        deleted); it goes to history with status ``unknown`` and an explanation in ``error``.
        """
        for pid in prompt_ids:
            if pid in self._in_history or self.is_queued(pid):
                continue
            pv = self.prompts.get(pid)
            if pv is None:
                continue
            if pv.started is None:
                del self.prompts[pid]
                self.previews.pop(pid, None)
                self._touch("queue")
                continue
            pv.status = "unknown"
            pv.error = pv.error or _error_dict(
                "The server has no record of how this run ended (it was restarted, or its history was deleted).",
                "lost",
                (),
                pv.current_node,
                None,
            )
            # it ended (the server went away) soon after the last news of it, not when we noticed
            last_news = max(pv.seen, pv.started)
            end = min(now, last_news) if now is not None else last_news
            pv.ended = pv.ended or end
            if pv._nodes is not None:
                for ns in pv._nodes.values():
                    if ns.status == "running":
                        ns.status, ns.ended = "failed", end
            pv.current_node = None
            if self.progress is not None and self.progress.prompt_id == pid:
                self.progress = None
            self._to_history(pv, end * 1000.0)
            self._touch("queue", "history", "graph", "progress")

    def add_history(self, entries: Iterable[HistoryEntry]) -> None:
        """Merge finished runs from ``/history`` (oldest first, as the server lists them)."""
        touched = False
        for seq, entry in enumerate(entries, 1):
            pid = entry.prompt_id
            pv = self.prompts.get(pid)
            if pv is None:
                pv = self.prompts[pid] = PromptView(pid)
            if pv._prompt is None and pv._packed is None:
                self._attach(pv, entry.prompt, entry.extra_data, entry.outputs_to_execute)
                if pv._nodes is not None and not pv.detailed:
                    pv._nodes = None
            pv.number = entry.number
            if pv.created is None:
                ct = entry.extra_data.get("create_time")
                pv.created = float(ct) / 1000.0 if isinstance(ct, int | float) else None
            outcome = entry.outcome
            status: PromptStatus = outcome if outcome in FINISHED else "unknown"  # type: ignore[assignment]
            if status == "success" and pv.status == "cached":
                status = "cached"
            pv.status = status
            start, end = entry.start_time, entry.end_time
            if not pv.detailed or pv.started is None:
                pv.started = start / 1000.0 if start is not None else pv.started
                pv.ended = end / 1000.0 if end is not None else pv.ended
            elif pv.ended is None and end is not None:
                # watched through broadcast events (no client id): no closing event reached us; the server's own
                # start and end (one clock) give the run time
                pv.started = start / 1000.0 if start is not None else pv.started
                pv.ended = end / 1000.0
            files = [(nid, f) for nid, _key, f in entry.files]
            if files or not pv.outputs:
                pv.outputs = files
            err = entry.error
            if err is not None:
                pv.error = _error_dict(
                    str(err.get("exception_message", "")),
                    str(err.get("exception_type", "")),
                    (str(x) for x in err.get("traceback") or ()),
                    None if err.get("node_id") is None else str(err.get("node_id")),
                    None if err.get("node_type") is None else str(err.get("node_type")),
                )
            cached = entry.cached_nodes
            if cached:
                pv._cached = tuple(cached)
            for kind, data in entry.messages:
                if kind in ("execution_error", "execution_interrupted") and data.get("executed") is not None:
                    pv._executed = tuple(str(x) for x in data.get("executed") or ())
            if not pv.detailed:
                pv._nodes = None  # re-derived from the final status on access
            elif pv._nodes is not None:
                self._settle_nodes(pv, set(cached))
            pv.current_node = None
            if self.running is pv:
                self.running = None
                self._touch("queue")
            if self._pending.pop(pid, None) is not None:
                self._pending_list = None
                self._touch("queue")
            if self.progress is not None and self.progress.prompt_id == pid:
                self.progress = None
                self._touch("progress")
            pv.from_server = True
            pv.seen = max(pv.seen, self._latest)  # snapshots sent before now cannot bring it back
            key = float(end) if end is not None else (pv.order_key or pv.number + seq * 1e-6)
            self._to_history(pv, key)
            touched = True
        if touched:
            self._touch("history")

    @staticmethod
    def _settle_nodes(pv: PromptView, cached: set[str]) -> None:
        """Final node states of a watched prompt once its history is known (we may have missed some events)."""
        assert pv._nodes is not None
        failed_id = (pv.error or {}).get("node_id")
        executed = set(pv._executed) if pv._executed is not None else None
        for nid, ns in pv._nodes.items():
            if ns.status == "running":
                ns.status = "failed" if pv.status in ("failed", "interrupted") else "done"
                ns.ended = ns.ended or pv.ended
            if ns.status != "pending":
                continue
            if nid in cached:
                ns.status = "cached"
            elif nid == failed_id:
                ns.status = "failed"
            elif (executed is not None and nid in executed) or (executed is None and pv.status == "success"):
                ns.status = "done"

    def set_stats(self, stats: SystemStats) -> None:
        self.stats = stats
        self._touch("stats")

    def add_logs(self, entries: Iterable[LogEntry]) -> None:
        n = len(self.logs)
        self.logs.extend(entries)
        if len(self.logs) != n or n == self.logs.maxlen:
            self._touch("logs")

    def note_error(self, message: str, now: float) -> None:
        """Record a failed request (shown with the connection state; the socket's own state is unchanged)."""
        self.connection.last_error = message
        self.connection.error_at = now
        self._touch("connection")

    def set_connection(
        self, state: ConnectionState, now: float, *, error: str | None = None, retry_in: float | None = None
    ) -> None:
        """Set the connection state directly (e.g. 'offline' after HTTP fails with no socket event)."""
        c = self.connection
        c.state, c.since = state, now
        if error is not None:
            c.last_error = error
        c.retry_in = retry_in
        c.retry_at = None if retry_in is None else now + retry_in
        self._touch("connection")
