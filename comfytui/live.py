"""The live session: one server's WebSocket and HTTP API feeding a ``DashboardState`` (no Textual here).

``LiveSession.run()`` consumes the event stream and keeps the state complete for prompts from *every* client:
on each ``status`` broadcast (and on a slow timer, and after a reconnect) it refreshes ``/queue`` (one request in
flight at most, coalesced), and fetches ``/history/{id}`` for prompts that left the queue or that we saw finish.
It also polls ``/system_stats`` and follows the server log. Errors never escape: they land in
``state.connection.last_error``. After each change ``on_change(dirty_areas)`` is called once per loop turn.

The action methods (``submit``, ``interrupt``, ...) raise ``ComfyError`` subclasses on failure; their results
arrive as events and state like everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from comfytui.client.errors import ComfyError
from comfytui.client.events import Connected, Event, Executing, ExecutionInterrupted, LogEntry, Logs, Status
from comfytui.client.http import ComfyClient
from comfytui.client.models import OutputFile, SubmitResult
from comfytui.client.ws import EventStream
from comfytui.config import load_config_quietly, with_api_key, without_secrets
from comfytui.core.state import DashboardState, PromptView
from comfytui.core.workflow import Workflow

__all__ = ["LiveSession", "random_seed"]

log = logging.getLogger(__name__)

#: what the log shows where the socket came back (lines the server wrote meanwhile are loaded after it)
RECONNECTED_LOG_LINE = "\n── reconnected ──\n"
SEED_MAX = 2**50  # JSON-safe and inside every sampler's seed range
#: extra_data keys the server fills in itself; never sent back when a prompt is resubmitted
_SERVER_EXTRA = ("client_id", "create_time")


def random_seed() -> int:
    """A fresh sampling seed."""
    return random.randrange(1, SEED_MAX)


class LiveSession:
    """One dashboard connection: ``await session.run()`` until ``await session.stop()``."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        auth: str | None = None,
        stats_interval: float = 2.0,
        queue_interval: float = 5.0,
        history_initial: int = 200,
        timeout: float = 10.0,
        max_backoff: float = 10.0,
        on_change: Callable[[set[str]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = ComfyClient(base_url, client_id=client_id, auth=auth, timeout=timeout)
        self.client_id = self.client.client_id
        self.base_url = self.client.base_url
        self.state = DashboardState(self.client_id)
        self.stream = EventStream(self.base_url, self.client_id, auth=auth, max_backoff=max_backoff)
        self.stats_interval = stats_interval
        self.queue_interval = queue_interval
        self.history_initial = history_initial
        self.on_change = on_change
        self.clock = clock
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue_task: asyncio.Task[None] | None = None
        self._queue_again = False
        self._history_wanted: set[str] = set()
        self._history_task: asyncio.Task[None] | None = None
        self._tail_task: asyncio.Task[None] | None = None
        self._tail_again = False
        self.history_tail = 10
        self._flush_scheduled = False
        self._connects = 0
        self._last_log_t = ""
        self._load_ok = False
        self._queue_ok = False
        self.loaded = asyncio.Event()  # set once the first full load (queue, history, stats, logs) is done

    def __repr__(self) -> str:
        return f"LiveSession({self.base_url!r}, client_id={self.client_id!r})"

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"comfytui-live-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug, not the network (that is handled where it happens): show it, keep going
            log.error("%s failed", task.get_name(), exc_info=exc)
            self._error(task.get_name(), exc)

    def _changed(self) -> None:
        """Schedule one ``on_change`` call for everything changed during this loop turn."""
        if self._flush_scheduled or not self.state.dirty:
            return
        self._flush_scheduled = True
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty = self.state.take_dirty()
        if dirty and self.on_change is not None:
            try:
                self.on_change(dirty)
            except Exception:  # a UI bug must not stop the stream
                log.exception("on_change failed")

    def _error(self, what: str, exc: BaseException) -> None:
        self.state.note_error(f"{what}: {exc}", self.clock())
        self._changed()

    async def _safe(self, what: str, coro: Awaitable[Any]) -> Any:
        """Await ``coro``; on a client error record it and return None."""
        try:
            return await coro
        except ComfyError as exc:
            self._error(what, exc)
        except (OSError, TimeoutError) as exc:
            self._error(what, exc)
        return None

    # -- running ----------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the server until ``stop()``; never raises for network trouble."""
        self._spawn(self._initial_load(), "load")
        self._spawn(self._poll_stats(), "stats")
        self._spawn(self._poll_queue(), "queue-timer")
        events = self._spawn(self._consume(), "events")
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({events, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await self._shutdown()

    async def stop(self) -> None:
        """End ``run()`` (and close the socket and HTTP client)."""
        self._stopping.set()
        await self.stream.close()

    async def _shutdown(self) -> None:
        await self.stream.close()
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        await self.client.aclose()

    async def _consume(self) -> None:
        st = self.state
        apply = st.apply
        try:
            async for event in self.stream:
                before = st.queue_remaining
                apply(event, self.clock())
                self._react(event)
                if st.queue_remaining < before:
                    # something finished or was deleted: prompts of other clients can run between two /queue
                    # snapshots, the newest history entries catch those
                    self.refresh_history_tail()
                self._changed()
        except Exception as exc:  # never crash the dashboard
            log.exception("event stream failed")
            self._error("event stream", exc)

    def _react(self, event: Event) -> None:
        """Follow-up requests an event calls for."""
        kind = type(event)
        if kind is Status:
            self.refresh_queue()
        elif kind is Executing:
            e: Any = event
            if e.node is None and e.prompt_id is not None:
                # sent after the history entry is written: fetch final outputs and status
                self.fetch_history([e.prompt_id])
        elif kind is ExecutionInterrupted:
            self.refresh_queue()
        elif kind is Logs:
            entries = cast(Logs, event).entries
            if entries:
                self._last_log_t = max(self._last_log_t, entries[-1].t)
        elif kind is Connected:
            self._connects += 1
            self._spawn(self._safe("logs", self.client.subscribe_logs(True)), "subscribe")
            if self._connects > 1:
                # mark the gap in the log (it also ends a progress bar the server was drawing when it went away)
                self.state.add_logs([LogEntry(self._last_log_t, RECONNECTED_LOG_LINE)])
            if self._connects > 1 or (self.loaded.is_set() and not self._load_ok):
                # events were lost while we were away (or the first load failed): reconcile
                self._spawn(self._reload(), "reload")

    async def _initial_load(self) -> None:
        results = await asyncio.gather(
            self._queue_now(),
            self._load_history(self.history_initial),
            self._load_stats(),
            self._load_logs(),
        )
        self._load_ok = all(results)
        self.loaded.set()
        self._changed()

    async def _reload(self) -> None:
        results = await asyncio.gather(
            self._queue_now(), self._load_history(self.history_initial), self._load_stats(), self._load_logs()
        )
        self._load_ok = all(results)

    async def _queue_now(self) -> bool:
        """Refresh /queue through the single queue worker and wait for it."""
        self.refresh_queue()
        task = self._queue_task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        return self._queue_ok

    async def _load_history(self, n: int) -> bool:
        entries = await self._safe("history", self.client.history(max_items=n))
        if entries:
            self.state.add_history(entries)
            self._changed()
        return entries is not None

    async def _load_stats(self) -> bool:
        stats = await self._safe("system_stats", self.client.system_stats())
        if stats is not None:
            self.state.set_stats(stats)
            self._changed()
        return stats is not None

    async def _load_logs(self) -> bool:
        entries = await self._safe("logs", self.client.logs_raw())
        if entries:
            fresh = [e for e in entries if e.t > self._last_log_t] if self._last_log_t else entries
            if fresh:
                self._last_log_t = fresh[-1].t
                self.state.add_logs(fresh)
                self._changed()
        return entries is not None

    async def _poll_stats(self) -> None:
        while not self._stopping.is_set():
            await self._sleep(self.stats_interval)
            if self.stream.connected:
                await self._load_stats()

    async def _poll_queue(self) -> None:
        while not self._stopping.is_set():
            await self._sleep(self.queue_interval)
            if self.stream.connected:
                self.refresh_queue()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- queue and history refresh ---------------------------------------------------------------------------------

    def refresh_queue(self) -> None:
        """Ask for a ``/queue`` refresh (at most one request in flight; bursts collapse into one more)."""
        if self._queue_task is not None and not self._queue_task.done():
            self._queue_again = True
            return
        self._queue_task = self._spawn(self._queue_worker(), "queue")

    async def _queue_worker(self) -> None:
        self._queue_again = True
        while self._queue_again and not self._stopping.is_set():
            self._queue_again = False
            await self._load_queue()

    async def _load_queue(self) -> None:
        sent = self.clock()
        snapshot = await self._safe("queue", self.client.queue())
        self._queue_ok = snapshot is not None
        if snapshot is None:
            return
        left = self.state.set_queue(snapshot, sent)
        self._changed()
        if left:
            self.fetch_history(left)

    def refresh_history_tail(self) -> None:
        """Merge the newest few ``/history`` entries we do not have yet (coalesced like the queue refresh)."""
        if self._tail_task is not None and not self._tail_task.done():
            self._tail_again = True
            return
        self._tail_task = self._spawn(self._tail_worker(), "history-tail")

    async def _tail_worker(self) -> None:
        self._tail_again = True
        while self._tail_again and not self._stopping.is_set():
            self._tail_again = False
            entries = await self._safe("history", self.client.history(max_items=self.history_tail))
            st = self.state
            new = []
            for e in entries or ():
                pv = st.get(e.prompt_id)
                if pv is None or not pv.from_server:
                    new.append(e)
            if new:
                st.add_history(new)
                self._changed()

    async def load_more_history(self, count: int = 500) -> int:
        """Merge ``count`` server history entries older than the ones already loaded; returns how many were new.

        ``/history`` pages from the oldest end only, so this asks for the newest ``loaded + count`` entries and
        keeps the ones not seen yet: cheap for a "load more" key, not for loading everything at once.
        """
        st = self.state
        loaded = sum(1 for pv in st.history if pv.from_server)
        entries = await self.client.history(max_items=loaded + count)
        new = [e for e in entries if (pv := st.get(e.prompt_id)) is None or not pv.from_server]
        if new:
            st.add_history(new)
            self._changed()
        return len(new)

    def fetch_history(self, prompt_ids: Iterable[str]) -> None:
        """Fetch ``/history/{id}`` for these prompts (batched in one worker)."""
        self._history_wanted.update(prompt_ids)
        if self._history_task is None or self._history_task.done():
            self._history_task = self._spawn(self._history_worker(), "history")

    async def _history_worker(self) -> None:
        while self._history_wanted and not self._stopping.is_set():
            batch = sorted(self._history_wanted)[:8]
            self._history_wanted.difference_update(batch)
            results = await asyncio.gather(*(self._history_one(pid) for pid in batch))
            found = [e for e in results if e is not None]
            if found:
                self.state.add_history(found)
            missing = [pid for pid, e in zip(batch, results, strict=True) if e is None]
            if missing:
                await asyncio.sleep(0.3)  # a last look: deleted prompts never reach history
                again = await asyncio.gather(*(self._history_one(pid) for pid in missing))
                late = [e for e in again if e is not None]
                if late:
                    self.state.add_history(late)
                lost = [pid for pid, e in zip(missing, again, strict=True) if e is None]
                self.state.forget(lost, self.clock())
            self._changed()

    async def _history_one(self, prompt_id: str) -> Any:
        try:
            return await self.client.history_entry(prompt_id)
        except ComfyError as exc:
            self._error("history", exc)
            return None

    # -- actions ----------------------------------------------------------------------------------------------------

    async def submit(
        self, prompt: dict[str, Any], *, front: bool = False, extra_data: dict[str, Any] | None = None
    ) -> SubmitResult:
        """Queue a prompt as this app (raises ``PromptRejected`` with the server's reasons)."""
        result = await self.client.submit(prompt, front=front, extra_data=extra_data)
        # the state keeps no secret: an API key lives only in the config and in the request itself
        kept = without_secrets(extra_data) if extra_data else extra_data
        self.state.note_submitted(result.prompt_id, prompt, self.clock(), kept, number=result.number)
        self._changed()
        self.refresh_queue()
        return result

    async def interrupt(self, prompt_id: str | None = None) -> None:
        """Interrupt the running prompt (only if it is ``prompt_id``, when given)."""
        await self.client.interrupt(prompt_id)

    async def delete_pending(self, prompt_ids: Iterable[str]) -> None:
        ids = list(prompt_ids)
        await self.client.delete_queued(ids)
        self.refresh_queue()

    async def clear_pending(self) -> None:
        await self.client.clear_queue()
        self.refresh_queue()

    async def move_to_front(self, prompt_id: str) -> SubmitResult | None:
        """Delete a pending prompt and queue it again first in line: same id, graph, extra data and submitter.

        Returns None (and changes nothing) when it is no longer pending (it started, finished or was deleted).
        """
        pv = self.state.get(prompt_id)
        if pv is None or not pv.prompt:
            await self._load_queue()
            pv = self.state.get(prompt_id)
        if pv is None or not pv.prompt:
            return None
        prompt, extra = pv.prompt, dict(pv.extra_data)
        owner = pv.client_id
        await self.client.delete_queued([prompt_id])
        snapshot = await self.client.queue()
        if prompt_id in snapshot:  # it started before the delete landed: nothing to move
            self.state.set_queue(snapshot, self.clock())
            self._changed()
            return None
        if await self.client.history_entry(prompt_id) is not None:  # it ran in between
            return None
        for key in _SERVER_EXTRA:
            extra.pop(key, None)
        extra = with_api_key(extra, load_config_quietly().api_key)  # the server and our state hold none
        if owner is None or owner == self.client_id:
            result = await self.client.submit(prompt, front=True, extra_data=extra or None, prompt_id=prompt_id)
        else:  # keep it routed to the client that submitted it (its page keeps showing progress)
            async with ComfyClient(self.base_url, client_id=owner, auth=self.client.auth) as as_owner:
                result = await as_owner.submit(prompt, front=True, extra_data=extra or None, prompt_id=prompt_id)
        pv.number = result.number
        self.refresh_queue()
        return result

    async def prompt_of(self, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The full graph and extra data of a known prompt (from the server when kept lean locally)."""
        pv: PromptView | None = self.state.get(prompt_id)
        if pv is not None and pv.prompt and not pv.extra_stripped:
            return pv.prompt, pv.extra_data
        entry = await self.client.history_entry(prompt_id)
        if entry is not None and entry.prompt:
            return entry.prompt, entry.extra_data
        if pv is not None and pv.prompt:
            return pv.prompt, pv.extra_data
        snapshot = await self.client.queue()
        for item in (*snapshot.running, *snapshot.pending):
            if item.prompt_id == prompt_id:
                return item.prompt, item.extra_data
        raise KeyError(f"unknown prompt {prompt_id}")

    async def rerun(self, prompt_id: str, *, new_seed: bool = False) -> SubmitResult:
        """Queue a finished (or queued) prompt again as this app, optionally with fresh random seeds."""
        prompt, extra = await self.prompt_of(prompt_id)
        if new_seed:
            prompt = Workflow.from_dict(prompt).with_seed(random_seed()).to_api()
        extra = {k: v for k, v in extra.items() if k not in _SERVER_EXTRA}
        return await self.submit(prompt, extra_data=extra or None)

    async def fetch_output(self, f: OutputFile) -> bytes:
        """The bytes of an output (or temp/input) file."""
        return await self.client.view(f)
