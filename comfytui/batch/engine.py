"""The batch engine: keeps the server busy with a bounded submit-ahead window, learns completions from the
WebSocket (this run's own client id), downloads outputs concurrently and journals every step.

It never does submit → wait → download → submit: up to ``window`` prompts are queued on the server at any time,
a finished prompt frees a slot at once, and downloads run beside the next prompts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from comfytui.batch.names import DEFAULT_TEMPLATE, UnsafePath, render_name, safe_ext, write_atomic
from comfytui.batch.progress import NullReporter, Reporter
from comfytui.client.errors import ComfyError, PromptRejected, ServerError, ServerUnreachable
from comfytui.client.events import (
    Connected,
    Disconnected,
    Event,
    Executed,
    Executing,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    Progress,
)
from comfytui.client.http import ComfyClient
from comfytui.client.models import HistoryEntry, OutputFile
from comfytui.client.ws import EventStream, backoff_delay
from comfytui.store.journal import ItemRecord, Journal, RunRecord

__all__ = ["BatchEngine", "EngineOptions", "RunOutcome", "rejection_line"]


@dataclass(slots=True)
class EngineOptions:
    """Knobs of one run."""

    window: int = 3  # prompts submitted and not yet finished on the server
    downloads: int = 4  # concurrent downloads
    outage_timeout: float = 60.0  # how long to wait for a server that went away before giving up
    idle_check: float = 5.0  # re-check /queue when nothing was heard for this long
    api_key: str | None = None  # sent as extra_data.api_key_comfy_org, never stored
    name_template: str = DEFAULT_TEMPLATE
    handle_sigint: bool = True


@dataclass(slots=True)
class RunOutcome:
    """How the run ended."""

    run_id: str
    total: int
    succeeded: int = 0
    failed: list[ItemRecord] = field(default_factory=list)
    cancelled: bool = False
    unreachable: str | None = None
    rejected: str | None = None
    removed: int = 0  # pending prompts deleted from the server queue on Ctrl-C
    stopped: int = 0  # running prompts interrupted on Ctrl-C
    wall_seconds: float = 0.0
    busy_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.failed
            and not self.cancelled
            and self.unreachable is None
            and self.rejected is None
            and self.succeeded == self.total
        )


class _Unreachable(Exception):
    """The server stayed away longer than the outage budget."""


def rejection_line(exc: PromptRejected) -> str:
    """A validation failure as one line."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _now() -> float:
    return time.time()


class BatchEngine:
    """Runs (or resumes) one journaled run to the end."""

    def __init__(
        self,
        journal: Journal,
        run: RunRecord,
        server_url: str,
        options: EngineOptions | None = None,
        reporter: Reporter | None = None,
        client: ComfyClient | None = None,
    ) -> None:
        self.journal = journal
        self.run = run
        self.url = server_url
        self.opts = options or EngineOptions()
        self.reporter: Reporter = reporter or NullReporter()
        self._given_client = client  # shared with the caller (who closes it); else the engine makes its own
        self.out_dir = Path(run.out_dir)
        self.items: dict[int, ItemRecord] = {}
        self.by_pid: dict[str, int] = {}
        self.todo: deque[int] = deque()
        self.inflight: dict[str, int] = {}  # prompt_id -> index, submitted and not finished on the server
        self.running: str | None = None
        self.ended: set[str] = set()
        self.finalizing: set[str] = set()
        self.ready: dict[str, asyncio.Event] = {}
        self.deaf: set[str] = set()
        self.t_start: dict[str, int | None] = {}
        self.need_history: set[str] = set()
        self.partial: dict[int, str] = {}  # in flight from an earlier session: its events go to that session's socket
        self.client_id = uuid.uuid4().hex
        self.outputs: dict[str, list[tuple[str, OutputFile]]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.names: dict[PurePosixPath, tuple[int, str, int]] = {}
        self.failures: dict[int, str] = {}
        self.done_count = 0
        self.accepted_any = False
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._disconnected_at: float | None = None
        self._need_reconcile = False
        self._last_heard = time.monotonic()
        self._cancel = False
        self._sem = asyncio.Semaphore(max(1, self.opts.downloads))
        self.client: ComfyClient | None = None
        self._announced = False
        self._done_at_start = 0
        self._resumed = False
        self.outcome = RunOutcome(run.id, 0)

    # --- public ------------------------------------------------------------------------------------------

    async def execute(self) -> RunOutcome:
        """Run every item that is not done yet; returns the outcome (the journal holds the details)."""
        started = time.monotonic()
        self._load()
        self._done_at_start = self.done_count
        self._resumed = any(i.attempts for i in self.items.values())
        self.outcome.total = len(self.items)
        client = self.client = self._given_client or ComfyClient(self.url, timeout=30)
        client.client_id = self.client_id  # this session's own id: the socket below gets its events
        stream = EventStream(self.url, self.client_id, auth=client.auth, max_backoff=2.0)
        listener = asyncio.create_task(self._listen(stream))
        restore = self._install_sigint()
        self.journal.set_run_status(self.run.id, "running")
        try:
            await self._wait_connected()
            await self._reconcile()
            await self._main_loop()
            if self._cancel:
                await self._cancel_pending()
            await self._drain()
        except _Unreachable as exc:
            self.outcome.unreachable = str(exc)
            await self._drain(timeout=2.0)
        finally:
            restore()
            await stream.close()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            for task in list(self.tasks):
                task.cancel()
            if self._given_client is None:
                await client.aclose()
        if self.outcome.rejected is None:
            self._announce()
        self._finish(time.monotonic() - started)
        return self.outcome

    def _announce(self) -> None:
        """Emit ``run_start`` once, just before the first other event (a rejected workflow emits none)."""
        if self._announced:
            return
        self._announced = True
        self.reporter.event(
            "run_start",
            run=self.run.id,
            total=len(self.items),
            todo=len(self.items) - self._done_at_start,
            already_done=self._done_at_start,
            resumed=self._resumed,
            out_dir=str(self.out_dir),
            workflow=self.run.workflow,
            server=self.run.server,
        )

    def _emit(self, kind: str, **data: Any) -> None:
        self._announce()
        self.reporter.event(kind, **data)

    def request_cancel(self) -> None:
        """Stop submitting; pending prompts of this run are removed from the server queue (Ctrl-C)."""
        self._cancel = True
        self._wake.set()

    # --- setup ----------------------------------------------------------------------------------------------

    def _load(self) -> None:
        for item in self.journal.items(self.run.id):
            self.items[item.index] = item
            if item.status == "done":
                self.done_count += 1
                for rel in item.files:
                    self.names[PurePosixPath(rel)] = (item.index, "", -1)
                continue
            if item.status in ("failed", "interrupted", "cancelled"):
                # A fresh attempt gets a fresh id, journaled before it is submitted.
                item.prompt_id = str(uuid.uuid4())
                item.status = "planned"
                item.error = None
                self.journal.update_item(
                    self.run.id, item.index, prompt_id=item.prompt_id, status="planned", error=None
                )
            self.by_pid[item.prompt_id] = item.index
            if item.status == "planned":
                self.todo.append(item.index)
            else:  # submitting / queued / running / executed: ask the server what became of it
                self.inflight[item.prompt_id] = item.index
                self.deaf.add(item.prompt_id)

    def _install_sigint(self) -> Callable[[], None]:
        if not self.opts.handle_sigint or threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            if self._cancel:  # second Ctrl-C: stop waiting
                loop.remove_signal_handler(signal.SIGINT)
                for task in list(self.tasks):
                    task.cancel()
                return
            self._emit("note", message="Ctrl-C: stopping; removing this run's pending prompts")
            self.request_cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError, ValueError):
            return lambda: None

        def restore() -> None:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signal.SIGINT)

        return restore

    # --- the WebSocket --------------------------------------------------------------------------------------

    async def _listen(self, stream: EventStream) -> None:
        async for ev in stream:
            try:
                self._on_event(ev)
            except Exception as exc:  # a bug or a journal failure must not silence the stream
                self._emit("warning", message=f"could not handle {type(ev).__name__}: {exc}")
                self._need_reconcile = True

    def _on_event(self, ev: Event) -> None:
        if isinstance(ev, Connected):
            if self._disconnected_at is not None:
                self._need_reconcile = True
            self._disconnected_at = None
            self._connected.set()
            self._wake.set()
            return
        if isinstance(ev, Disconnected):
            if self._connected.is_set():
                self._emit("warning", message=f"lost the server connection ({ev.reason}); reconnecting")
                self._need_reconcile = True  # find out at once whether the server is gone
                self._wake.set()
            self._connected.clear()
            if self._disconnected_at is None:
                self._disconnected_at = time.monotonic()
            return
        pid = getattr(ev, "prompt_id", None)
        if pid is None or pid not in self.by_pid:
            return
        self._last_heard = time.monotonic()
        index = self.by_pid[pid]
        if isinstance(ev, ExecutionStart):
            self.running = pid
            item = self.items[index]
            item.started_at = _now()  # journaled with the outcome (fewer writes on the hot path)
            self.t_start[pid] = ev.timestamp
            self._emit("started", index=index, prompt_id=pid, seed=item.seed)
        elif isinstance(ev, Progress):
            self._emit("progress", index=index, prompt_id=pid, node=ev.node, value=ev.value, max=ev.max)
        elif isinstance(ev, Executed):
            if ev.output is None:
                self.need_history.add(pid)  # a cached output node: only the history lists its files
            for f in _files_of(ev.output):
                self.outputs.setdefault(pid, []).append((ev.node, f))
        elif isinstance(ev, ExecutionSuccess):
            self._ended(pid, index)
            start = self.t_start.pop(pid, None)
            exec_s = (ev.timestamp - start) / 1000.0 if ev.timestamp is not None and start is not None else None
            if self.outputs.get(pid) and pid not in self.need_history and pid not in self.finalizing:
                # Everything is known from the socket: journal it at once (a resume after a server death then
                # downloads these files instead of running the prompt again) and download, no history needed.
                outputs = [_output_dict(n, f) for n, f in _kept(self.outputs.pop(pid))]
                self._set(
                    index,
                    status="executed",
                    outputs=outputs,
                    exec_seconds=exec_s,
                    started_at=self.items[index].started_at,
                    ended_at=_now(),
                )
                self.finalizing.add(pid)
                self._spawn(self._download(index))
            else:
                self._spawn(self._finalize_when_ready(index, pid))
        elif isinstance(ev, ExecutionError):
            self._ended(pid, index)
            self.finalizing.add(pid)
            where = ev.node_type or ev.node_id or "?"
            message = (ev.exception_message or ev.exception_type or "execution failed").strip().splitlines()
            self._fail(index, f"{where}: {message[0] if message else 'execution failed'}")
        elif isinstance(ev, ExecutionInterrupted):
            self._ended(pid, index)
            self.finalizing.add(pid)
            if self._cancel:
                self._set(index, status="cancelled", error="interrupted by Ctrl-C")
            else:
                self._fail(index, "interrupted on the server", status="interrupted")
        elif isinstance(ev, Executing) and ev.node is None:
            self._ended(pid, index)
            if pid not in self.finalizing or pid in self.ready:
                self._ready(pid).set()  # sent after the history entry is written
                self._spawn(self._finalize_when_ready(index, pid))

    def _ready(self, pid: str) -> asyncio.Event:
        ev = self.ready.get(pid)
        if ev is None:
            ev = self.ready[pid] = asyncio.Event()
        return ev

    async def _finalize_when_ready(self, index: int, pid: str) -> None:
        """Finalize once, after ``executing node=None`` (history written) or a short grace period."""
        if pid in self.finalizing:
            return
        self.finalizing.add(pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready(pid).wait(), 2.0)
        self.ready.pop(pid, None)
        await self._finalize(index, pid)

    def _ended(self, pid: str, index: int) -> None:
        """The server is done with ``pid``: free its slot so the next prompt is submitted right away."""
        if pid in self.ended:
            return
        self.ended.add(pid)
        self.deaf.discard(pid)
        if self.running == pid:
            self.running = None
        self.inflight.pop(pid, None)
        self.items[index].ended_at = _now()
        self._wake.set()

    async def _wait_connected(self) -> None:
        deadline = time.monotonic() + self.opts.outage_timeout
        while not self._connected.is_set():
            if self._cancel:
                return
            if time.monotonic() > deadline:
                raise _Unreachable(f"cannot reach ComfyUI at {self.run.server} (no WebSocket connection)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), 0.5)

    # --- the main loop ----------------------------------------------------------------------------------------

    async def _main_loop(self) -> None:
        while not self._cancel:
            if self._need_reconcile:
                self._need_reconcile = False
                await self._reconcile()
            while self.todo and len(self.inflight) < self.opts.window and not self._cancel:
                if not self._connected.is_set():
                    await self._wait_connected()
                    break
                if not await self._submit(self.todo[0]):
                    return  # the workflow was rejected: stop here
            if not self.todo and not self.inflight:
                return
            self._wake.clear()
            if self._need_reconcile:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            quiet = time.monotonic() - self._last_heard
            if self.deaf & set(self.inflight) and quiet > 0.3:
                self._need_reconcile = True  # prompts of an earlier session: we only learn about them by asking
            elif self.inflight and quiet > self.opts.idle_check:
                self._last_heard = time.monotonic()
                self._need_reconcile = True  # heard nothing for a while: make sure our prompts still exist

    def _extra_data(self) -> dict[str, Any] | None:
        return {"api_key_comfy_org": self.opts.api_key} if self.opts.api_key else None

    async def _submit(self, index: int) -> bool:
        """Submit one item (its id is journaled first). False if the workflow is rejected."""
        assert self.client is not None
        item = self.items[index]
        pid = item.prompt_id
        item.attempts += 1
        self._set(index, status="submitting", attempts=item.attempts, submitted_at=_now())
        self.inflight[pid] = index  # before the POST: its events may beat the HTTP answer
        self.deaf.discard(pid)
        self.ended.discard(pid)
        self.outputs.pop(pid, None)
        try:
            result = await self.client.submit(item.graph, prompt_id=pid, extra_data=self._extra_data())
        except PromptRejected as exc:
            self.inflight.pop(pid, None)
            self.todo.popleft()
            line = rejection_line(exc)
            if not self.accepted_any:  # the workflow itself is bad: one error, stop here
                self.failures[index] = f"rejected by the server: {line}"
                self._set(index, status="failed", error=self.failures[index])
                self.outcome.rejected = line
                return False
            self._fail(index, f"rejected by the server: {line}")
            return True
        except ServerError as exc:
            # The server answered with an error, so it did not queue it (ComfyUI queues last, then says 200).
            self.inflight.pop(pid, None)
            line = str(exc).splitlines()[0]
            if exc.status < 500 or item.attempts >= 3:
                self.todo.popleft()
                if not self.accepted_any:
                    self.failures[index] = f"the server refused it: {line}"
                    self._set(index, status="failed", error=self.failures[index])
                    self.outcome.rejected = line
                    return False
                self._fail(index, f"the server refused it: {line}")
                return True
            self._emit("warning", message=f"submitting #{index} failed ({line}); trying again")
            await asyncio.sleep(backoff_delay(item.attempts, 2.0))
            return True
        except ServerUnreachable as exc:
            # It may or may not have been queued: look before submitting again (never run twice).
            self._emit("warning", message=f"submitting #{index} failed ({exc}); waiting for the server")
            await self._wait_server()
            self._need_reconcile = True
            self.todo.popleft()
            return True
        self.todo.popleft()
        self.accepted_any = True
        if result.node_errors:
            nodes = ", ".join(sorted(result.node_errors))
            self.partial[index] = f"part of the workflow failed validation (nodes {nodes}); only the rest ran"
            self._emit("warning", message=f"#{index}: {self.partial[index]}")
        item.number = result.number
        self._emit("submitted", index=index, prompt_id=pid, seed=item.seed)
        return True

    async def _wait_server(self) -> None:
        """Wait (with backoff) until the server answers again; raises _Unreachable after the outage budget."""
        assert self.client is not None
        deadline = time.monotonic() + self.opts.outage_timeout
        attempt = 0
        while not self._cancel:
            try:
                await self.client.queue_remaining()
                return
            except ComfyError:
                pass
            if time.monotonic() > deadline:
                raise _Unreachable(
                    f"ComfyUI at {self.run.server} has been unreachable for {self.opts.outage_timeout:.0f}s"
                )
            attempt += 1
            await asyncio.sleep(backoff_delay(attempt, 2.0))

    async def _reconcile(self) -> None:
        """Ask the server about every prompt we think is in flight: still queued, finished, or lost."""
        assert self.client is not None
        if not self.inflight:
            return
        try:
            snap = await self.client.queue()
        except ComfyError:
            await self._wait_server()
            self._need_reconcile = True
            return
        lost: list[int] = []
        for pid, index in sorted(self.inflight.items(), key=lambda kv: kv[1]):
            if pid in snap:
                if snap.running_id == pid and self.running != pid:
                    self.running = pid
                    self._set(index, status="running")
                elif self.items[index].status == "submitting":
                    self._set(index, status="queued")
                continue
            try:
                entry = await self.client.history_entry(pid)
            except ComfyError:
                self._need_reconcile = True
                return
            if entry is not None:
                self._ended(pid, index)
                if pid not in self.finalizing:
                    self.finalizing.add(pid)
                    self._spawn(self._finalize(index, pid, entry))
            elif self.items[index].status == "executed" and self.items[index].outputs:
                self._ended(pid, index)  # it ran and we know its files: fetch them
                if pid not in self.finalizing:
                    self.finalizing.add(pid)
                    self._spawn(self._finalize(index, pid))
            else:
                lost.append(index)
        for index in reversed(lost):
            pid = self.items[index].prompt_id
            self.inflight.pop(pid, None)
            self.deaf.discard(pid)
            if self.running == pid:
                self.running = None
            self._set(index, status="planned")
            self.todo.appendleft(index)
        if lost:
            self._emit("note", message=f"{len(lost)} prompt(s) were lost by the server; submitting again")
        self._wake.set()

    # --- finishing one prompt ------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _history(self, pid: str, tries: int = 40) -> HistoryEntry | None:
        assert self.client is not None
        for attempt in range(tries):
            try:
                entry = await self.client.history_entry(pid)
            except ComfyError:
                entry = None
            if entry is not None:
                return entry
            await asyncio.sleep(min(0.5, 0.02 * (attempt + 1)))
        return None

    async def _finalize(self, index: int, pid: str, entry: HistoryEntry | None = None) -> None:
        """Read the history entry (outcome, timing, every output file), then download."""
        item = self.items[index]
        if item.status in ("done", "failed") or item.prompt_id != pid:
            return
        entry = entry or await self._history(pid, tries=3 if item.status == "executed" else 40)
        if entry is not None:
            outcome = entry.outcome
            if outcome == "interrupted":
                if self._cancel:
                    self._set(index, status="cancelled", error="interrupted by Ctrl-C")
                    return
                self._fail(index, "interrupted on the server", status="interrupted")
                return
            if outcome == "failed":
                self._fail(index, _error_text(entry))
                return
            outputs = [_output_dict(n, f) for n, f in _kept([(n, f) for n, _k, f in entry.files])]
            self._set(
                index,
                status="executed",
                outputs=outputs,
                exec_seconds=entry.duration,
                started_at=item.started_at,
                ended_at=item.ended_at,
            )
        elif item.status != "executed":  # no history, and we never heard it succeed
            self._fail(index, "the server kept no record of this prompt")
            return
        await self._download(index)

    async def _download(self, index: int) -> None:
        assert self.client is not None
        item = self.items[index]
        counters: dict[str, int] = {}
        jobs: list[tuple[PurePosixPath, OutputFile]] = []
        for out in item.outputs:
            node = str(out.get("node", ""))
            f = OutputFile(str(out.get("filename", "")), str(out.get("subfolder", "")), str(out.get("type", "output")))
            n = counters.get(node, 0)
            counters[node] = n + 1
            jobs.append((self._name_for(item, node, n, f), f))

        async def fetch(rel: PurePosixPath, f: OutputFile) -> str:
            assert self.client is not None
            async with self._sem:
                for attempt in range(1, 6):
                    try:
                        data = await self.client.view(f)
                        break
                    except ServerError as exc:
                        if exc.status < 500 or attempt == 5:
                            raise
                    except ServerUnreachable:
                        if attempt == 5:
                            raise
                    await asyncio.sleep(backoff_delay(attempt, 2.0))
            if len(data) < 1 << 20:  # small files: a thread hop costs more than the write
                path = write_atomic(self.out_dir, rel, data)
            else:
                path = await asyncio.to_thread(write_atomic, self.out_dir, rel, data)
            return str(path.relative_to(self.out_dir.resolve()))

        try:
            files = list(await asyncio.gather(*(fetch(rel, f) for rel, f in jobs)))
        except (ComfyError, OSError, UnsafePath) as exc:
            self.failures[index] = f"download failed: {exc}"
            self._emit("failed", index=index, prompt_id=item.prompt_id, error=self.failures[index])
            return  # stays "executed": --resume downloads it again
        if index in self.partial:  # it ran, but not all of it: not a success
            self._set(index, files=files)
            self._fail(index, self.partial[index])
            return
        self._set(index, status="done", files=files, error=None)
        self.done_count += 1
        self._emit(
            "done",
            index=index,
            prompt_id=item.prompt_id,
            seed=item.seed,
            seconds=item.exec_seconds,
            files=files,
        )

    def _name_for(self, item: ItemRecord, node: str, n: int, f: OutputFile) -> PurePosixPath:
        width = max(3, len(str(len(self.items))))
        fields = {
            "index": str(item.index).zfill(width),
            "i": item.index,
            "node": node,
            "n": n,
            "seed": "" if item.seed is None else item.seed,
            "prompt_id": item.prompt_id,
            "run": self.run.id,
            "stem": f.filename.rsplit(".", 1)[0],
            "ext": safe_ext(f.filename).lstrip("."),
            "title": _node_title(item.graph, node),
        }
        rel = render_name(self.opts.name_template, fields, safe_ext(f.filename))
        key = (item.index, node, n)
        owner = self.names.get(rel)
        k = 1
        base = rel
        while owner is not None and owner != key:  # another file already has this name: add a counter
            rel = base.with_name(f"{base.stem}-{k}{base.suffix}")
            owner = self.names.get(rel)
            k += 1
        self.names[rel] = key
        return rel

    # --- bookkeeping ---------------------------------------------------------------------------------------------

    def _set(self, index: int, **changes: Any) -> None:
        item = self.items[index]
        for k, v in changes.items():
            setattr(item, k, v)
        self.journal.update_item(self.run.id, index, **changes)

    def _fail(self, index: int, error: str, status: str = "failed") -> None:
        self.failures[index] = error
        self._set(index, status=status, error=error)
        self._emit("failed", index=index, prompt_id=self.items[index].prompt_id, error=error)

    async def _cancel_pending(self) -> None:
        """Ctrl-C: delete our pending prompts from the server queue and interrupt ours if it is running."""
        assert self.client is not None
        ours = set(self.inflight)
        try:
            snap = await self.client.queue()
            pending = [i.prompt_id for i in snap.pending if i.prompt_id in ours]
            await self.client.delete_queued(pending)
            running = snap.running_id if snap.running_id in ours else None
            if running is not None:
                await self.client.interrupt(running)
        except ComfyError as exc:
            self._emit("warning", message=f"could not clean up the server queue: {exc}")
            pending, running = [], None
        for pid in pending:
            index = self.inflight.pop(pid)
            self._set(index, status="cancelled", error="removed from the queue by Ctrl-C")
        self.outcome.removed = len(pending)
        self.outcome.stopped = 1 if running else 0
        deadline = time.monotonic() + 5.0
        while running is not None and running in self.inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for pid, index in list(self.inflight.items()):  # anything else we cannot see any more
            self._set(index, status="cancelled")
            self.inflight.pop(pid, None)

    async def _drain(self, timeout: float = 60.0) -> None:
        """Wait for outstanding finalize/download tasks."""
        deadline = time.monotonic() + timeout
        while self.tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self.tasks), timeout=max(0.01, deadline - time.monotonic()))

    def _finish(self, wall: float) -> None:
        items = self.journal.items(self.run.id)
        o = self.outcome
        o.cancelled = self._cancel
        o.wall_seconds = wall
        o.succeeded = sum(1 for i in items if i.status == "done")
        o.busy_seconds = sum(i.exec_seconds or 0.0 for i in items)
        o.failed = [i for i in items if i.index in self.failures and i.status != "done"]
        if o.ok:
            status = "done"
        elif o.cancelled:
            status = "cancelled"
        elif o.unreachable:
            status = "unreachable"
        else:
            status = "failed"
        self.journal.set_run_status(self.run.id, status)


def _files_of(output: dict[str, Any] | None) -> list[OutputFile]:
    """Every file an ``executed`` output lists (images, gifs, audio, video...)."""
    found = []
    for values in (output or {}).values():
        for v in values if isinstance(values, list) else []:
            f = OutputFile.from_raw(v) if isinstance(v, dict) and "filename" in v else None
            if f is not None:
                found.append(f)
    return found


def _kept(files: list[tuple[str, OutputFile]]) -> list[tuple[str, OutputFile]]:
    """The saved outputs; temp previews only when a workflow saves nothing."""
    return [(n, f) for n, f in files if f.type == "output"] or files


def _output_dict(node: str, f: OutputFile) -> dict[str, Any]:
    return {"node": node, "filename": f.filename, "subfolder": f.subfolder, "type": f.type}


def _node_title(graph: dict[str, Any], node: str) -> str:
    meta = (graph.get(node) or {}).get("_meta") if isinstance(graph.get(node), dict) else None
    return str(meta.get("title", "")) if isinstance(meta, dict) else ""


def _error_text(entry: HistoryEntry) -> str:
    err = entry.error or {}
    node = err.get("node_type") or err.get("node_id") or "?"
    message = str(err.get("exception_message") or err.get("exception_type") or "execution failed").strip()
    first = message.splitlines()[0] if message else "execution failed"
    return f"{node}: {first}"
