"""EventStream against the real ComfyUI: the event sequence, routing, interrupts, logs, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from PIL import Image
from tinywf import slow as _slow
from tinywf import tiny as _tiny

from comfytui.client import ComfyClient, EventStream
from comfytui.client import events as ev
from comfytui.testbed import ComfyServer

pytestmark = pytest.mark.server



def tiny(seed: int | None = None) -> dict[str, Any]:
    return _tiny(seed, vary_model=True)


def slow() -> dict[str, Any]:
    return _slow(vary_model=True)


class Recorder:
    """Reads an EventStream in the background and lets a test wait for events."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: list[ev.Event] = []
        self._new = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self.stream:
            self.events.append(event)
            self._new.set()

    def mark(self) -> int:
        """Index to pass as ``since`` to look only at events after now."""
        return len(self.events)

    async def wait_for(self, pred: Callable[[ev.Event], bool], timeout: float = 20.0, since: int = 0) -> ev.Event:
        return self.events[await self.wait_index(pred, timeout, since)]

    async def wait_index(self, pred: Callable[[ev.Event], bool], timeout: float = 20.0, since: int = 0) -> int:
        """Index of the first event at or after ``since`` matching ``pred`` (waiting for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = since
        while True:
            while i < len(self.events):
                if pred(self.events[i]):
                    return i
                i += 1
            self._new.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                kinds = [type(e).__name__ for e in self.events[since:]][-30:]
                raise TimeoutError(f"no matching event within {timeout}s; last events: {kinds}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def ready(self) -> None:
        """Wait until the server has registered the socket and answered the feature flags."""
        await self.wait_for(lambda e: isinstance(e, ev.Status) and e.sid is not None)
        if self.stream.preview_metadata:
            await self.wait_for(lambda e: isinstance(e, ev.FeatureFlags))

    def for_prompt(self, prompt_id: str, since: int = 0) -> list[ev.Event]:
        return [e for e in self.events[since:] if getattr(e, "prompt_id", None) == prompt_id]

    async def close(self) -> None:
        await self.stream.close()
        await asyncio.wait_for(self._task, 10)


def finished(prompt_id: str) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, ev.Executing) and e.node is None and e.prompt_id == prompt_id


@pytest.fixture
async def rec(client: ComfyClient) -> AsyncIterator[Recorder]:
    r = Recorder(client.event_stream())
    await r.ready()
    yield r
    await r.close()


async def test_full_event_sequence_and_png(client: ComfyClient, rec: Recorder, comfy_url: str) -> None:
    other = Recorder(EventStream(comfy_url, "monitor-" + client.client_id))
    await other.ready()
    since_other = other.mark()
    try:
        assert rec.stream.connected
        result = await client.submit(tiny())
        pid = result.prompt_id
        assert result.node_errors == {}
        await rec.wait_for(finished(pid))
        await asyncio.sleep(0.2)  # let the monitor receive whatever it would get
    finally:
        await other.close()

    mine = rec.for_prompt(pid)
    kinds = [type(e).__name__ for e in mine]
    assert kinds[0] == "ExecutionStart"
    assert kinds[1] == "ExecutionCached"
    for kind in ("ProgressState", "Executing", "Progress", "Preview", "Executed", "ExecutionSuccess"):
        assert kind in kinds, kinds
    assert kinds.index("ExecutionSuccess") < len(kinds) - 1 and isinstance(mine[-1], ev.Executing)
    assert mine[-1].node is None

    cached = next(e for e in mine if isinstance(e, ev.ExecutionCached))
    executed_nodes = {e.node for e in mine if isinstance(e, ev.Executing) and e.node is not None}
    assert executed_nodes | set(cached.nodes) >= {"1", "2", "3", "4", "5", "6", "7"}
    assert {"1", "5", "6", "7"} <= executed_nodes  # fresh seeds: these really ran

    progress = [e for e in mine if isinstance(e, ev.Progress)]
    assert progress[-1].node == "5" and progress[-1].value == progress[-1].max == 8
    states = [e for e in mine if isinstance(e, ev.ProgressState)]
    assert states[-1].nodes["5"].state == "finished"

    preview = next(e for e in mine if isinstance(e, ev.Preview))
    assert preview.node_id == "5" and preview.mime == "image/jpeg"
    with Image.open(io.BytesIO(preview.image)) as img:
        assert img.format == "JPEG" and img.size[0] > 0

    executed = next(e for e in mine if isinstance(e, ev.Executed))
    assert executed.node == "7" and executed.output is not None
    image = executed.output["images"][0]
    assert image["type"] == "output" and image["filename"].endswith(".png")

    # the history entry is written before executing:null
    entry = await client.history_entry(pid)
    assert entry is not None and entry.outcome == "success" and entry.completed
    assert entry.client_id == client.client_id
    assert entry.duration is not None and 0 < entry.duration < 30
    [(node, file)] = entry.images
    assert node == "7" and file.filename == image["filename"]
    png = await client.view(file)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (64, 64)

    # another client id sees only `status` for this prompt
    seen = {type(e).__name__ for e in other.events[since_other:]}
    assert "Status" in seen
    assert seen <= {"Status"}, seen


async def test_cached_rerun(client: ComfyClient, rec: Recorder) -> None:
    prompt = tiny()
    first = await client.submit(prompt)
    await rec.wait_for(finished(first.prompt_id))
    since = rec.mark()
    again = await client.submit(prompt)
    await rec.wait_for(finished(again.prompt_id), since=since)
    kinds = {type(e).__name__ for e in rec.for_prompt(again.prompt_id, since)}
    assert "Progress" not in kinds and "ExecutionSuccess" in kinds
    entry = await client.wait_for_history(again.prompt_id, 5)
    assert entry.outcome == "cached" and set(entry.cached_nodes) >= set(prompt)


async def test_preview_without_metadata_is_type1(client: ComfyClient) -> None:
    rec = Recorder(EventStream(client.base_url, client.client_id, preview_metadata=False))
    try:
        await rec.ready()
        pid = (await client.submit(tiny())).prompt_id
        await rec.wait_for(finished(pid))
        previews = [e for e in rec.events if isinstance(e, ev.Preview)]
        assert previews and all(p.prompt_id is None for p in previews)
        assert not any(isinstance(e, ev.FeatureFlags) for e in rec.events)
    finally:
        await rec.close()


async def test_interrupt_during_sampling(client: ComfyClient, rec: Recorder) -> None:
    pid = (await client.submit(slow())).prompt_id
    await rec.wait_for(lambda e: isinstance(e, ev.Progress) and e.prompt_id == pid and e.value >= 1)
    await client.interrupt(pid)
    event = await rec.wait_for(lambda e: isinstance(e, ev.ExecutionInterrupted) and e.prompt_id == pid, 10)
    assert isinstance(event, ev.ExecutionInterrupted)
    assert event.node_id == "5" and event.node_type == "KSampler" and "1" in event.executed
    await rec.wait_for(finished(pid), 10)
    entry = await client.wait_for_history(pid, 5)
    assert entry.outcome == "interrupted" and entry.interrupted
    assert entry.status_str == "error" and not entry.completed and entry.images == []


async def test_targeted_interrupt_of_another_prompt_is_ignored(client: ComfyClient, rec: Recorder) -> None:
    pid = (await client.submit(slow())).prompt_id
    await rec.wait_for(lambda e: isinstance(e, ev.Progress) and e.prompt_id == pid)
    since = rec.mark()
    await client.interrupt("some-other-prompt")
    await asyncio.sleep(0.3)
    assert not any(isinstance(e, ev.ExecutionInterrupted) for e in rec.events[since:])
    assert (await client.queue()).running_id == pid
    await client.interrupt()  # global
    await rec.wait_for(lambda e: isinstance(e, ev.ExecutionInterrupted) and e.prompt_id == pid, 10, since=since)


async def test_logs_subscription(client: ComfyClient, rec: Recorder) -> None:
    await client.subscribe_logs(True)
    try:
        since = rec.mark()
        pid = (await client.submit(tiny())).prompt_id
        logs = await rec.wait_for(lambda e: isinstance(e, ev.Logs), 10, since=since)
        assert isinstance(logs, ev.Logs) and logs.entries and all(isinstance(x.m, str) for x in logs.entries)
        await rec.wait_for(finished(pid))
    finally:
        await client.subscribe_logs(False)


async def test_close_ends_iteration_promptly(comfy_url: str) -> None:
    stream = EventStream(comfy_url, "closer")
    got: list[ev.Event] = []

    async def read() -> None:
        async for e in stream:
            got.append(e)

    task = asyncio.create_task(read())
    while not stream.connected:
        await asyncio.sleep(0.02)
    await stream.close()
    await asyncio.wait_for(task, 5)
    assert isinstance(got[0], ev.Connected) and got[0].sid == "closer"
    assert not any(isinstance(e, ev.Disconnected | ev.Reconnecting) for e in got)
    assert not stream.connected


async def test_unreachable_then_close() -> None:
    from comfytui.testbed import free_port

    stream = EventStream(f"http://127.0.0.1:{free_port()}", "nobody", max_backoff=0.5)
    rec = Recorder(stream)
    gone = await rec.wait_for(lambda e: isinstance(e, ev.Disconnected))
    assert isinstance(gone, ev.Disconnected) and "cannot connect" in gone.reason
    await rec.wait_for(lambda e: isinstance(e, ev.Reconnecting) and e.attempt >= 2, 5)
    await rec.close()
    assert not any(isinstance(e, ev.Connected) for e in rec.events)


async def test_reconnects_after_server_restart() -> None:
    """A separate server: restarted under a connected stream, which must come back by itself."""
    server = ComfyServer()
    try:
        await asyncio.to_thread(server.start)
        async with ComfyClient(server.url) as c:
            rec = Recorder(EventStream(server.url, c.client_id, max_backoff=0.5, open_timeout=3))
            try:
                await rec.ready()
                since = rec.mark()
                await asyncio.to_thread(server.restart)
                gone = await rec.wait_index(lambda e: isinstance(e, ev.Disconnected), since=since)
                retry = await rec.wait_index(lambda e: isinstance(e, ev.Reconnecting), since=gone)
                back = await rec.wait_index(lambda e: isinstance(e, ev.Connected), 60, since=retry)
                assert gone < retry < back
                first_retry = rec.events[retry]
                assert isinstance(first_retry, ev.Reconnecting) and first_retry.attempt == 1
                assert 0 < first_retry.delay <= 0.5
                between = {type(e).__name__ for e in rec.events[gone:back]}
                assert between <= {"Disconnected", "Reconnecting"}, between
                await rec.wait_for(lambda e: isinstance(e, ev.FeatureFlags), since=back)
                assert rec.stream.connected

                # the server forgot everything; the next prompt works and is routed to us again
                assert await c.history() == []
                since = rec.mark()
                pid = (await c.submit(tiny(7))).prompt_id
                await rec.wait_for(finished(pid), 60, since=since)
                assert any(isinstance(e, ev.ExecutionSuccess) for e in rec.for_prompt(pid, since))
                entry = await c.wait_for_history(pid, 5)
                assert entry.outcome == "success"

                # clearing history is safe to try here, on our own server
                await c.clear_history()
                assert await c.history() == []
            finally:
                await rec.close()
    finally:
        await asyncio.to_thread(server.cleanup)
