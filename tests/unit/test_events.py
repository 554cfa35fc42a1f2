"""Decoding ComfyUI WebSocket frames into typed events."""

from __future__ import annotations

import asyncio
import json
import random
import struct
from typing import Any

import pytest
from websockets.asyncio.server import serve

from comfytui.client import events as ev
from comfytui.client.events import parse_binary, parse_message, parse_text
from comfytui.client.ws import EventStream

PID = "4f0cf130-57bf-498b-b739-9a985ae71a6a"


def msg(kind: str, data: Any) -> str:
    return json.dumps({"type": kind, "data": data})


# --- text frames -------------------------------------------------------------------


def test_status_with_sid() -> None:
    e = parse_text(msg("status", {"status": {"exec_info": {"queue_remaining": 2}}, "sid": "abc"}))
    assert e == ev.Status(queue_remaining=2, sid="abc")


def test_status_without_sid() -> None:
    assert parse_text(msg("status", {"status": {"exec_info": {"queue_remaining": 0}}})) == ev.Status(0, None)


def test_execution_start_and_cached() -> None:
    assert parse_text(msg("execution_start", {"prompt_id": PID, "timestamp": 17})) == ev.ExecutionStart(PID, 17)
    e = parse_text(msg("execution_cached", {"nodes": ["1", 2], "prompt_id": PID, "timestamp": 18}))
    assert e == ev.ExecutionCached(PID, ("1", "2"), 18)


def test_executing_node_and_finish() -> None:
    e = parse_text(msg("executing", {"node": "5", "display_node": "5", "prompt_id": PID}))
    assert e == ev.Executing(PID, "5", "5")
    done = parse_text(msg("executing", {"node": None, "prompt_id": PID}))
    assert isinstance(done, ev.Executing) and done.node is None and done.prompt_id == PID


def test_executing_on_connect_has_no_prompt_id() -> None:
    e = parse_text(msg("executing", {"node": "3"}))
    assert e == ev.Executing(None, "3", None)


def test_progress() -> None:
    e = parse_text(msg("progress", {"value": 3, "max": 8, "prompt_id": PID, "node": "5"}))
    assert e == ev.Progress(PID, "5", 3, 8)


def test_progress_state() -> None:
    data = {
        "prompt_id": PID,
        "nodes": {
            "1": {"value": 1, "max": 1, "state": "finished", "node_id": "1", "prompt_id": PID, "real_node_id": "1"},
            "5": {"value": 2.0, "max": 8.0, "state": "running", "node_id": "5", "display_node_id": "5"},
        },
    }
    e = parse_text(msg("progress_state", data))
    assert isinstance(e, ev.ProgressState)
    assert e.prompt_id == PID
    assert e.nodes["1"].state == "finished" and e.nodes["1"].real_node_id == "1"
    assert e.nodes["5"].value == 2.0 and e.nodes["5"].max == 8.0 and e.nodes["5"].display_node_id == "5"


def test_executed_with_and_without_output() -> None:
    out = {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}
    e = parse_text(msg("executed", {"node": "7", "display_node": "7", "output": out, "prompt_id": PID}))
    assert e == ev.Executed(PID, "7", out, "7")
    cached = parse_text(msg("executed", {"node": "7", "output": None, "prompt_id": PID}))
    assert isinstance(cached, ev.Executed) and cached.output is None


def test_success_error_interrupted() -> None:
    assert parse_text(msg("execution_success", {"prompt_id": PID, "timestamp": 5})) == ev.ExecutionSuccess(PID, 5)
    err = parse_text(
        msg(
            "execution_error",
            {
                "prompt_id": PID,
                "node_id": "5",
                "node_type": "KSampler",
                "executed": ["1", "2"],
                "exception_message": "boom",
                "exception_type": "RuntimeError",
                "traceback": ["line 1\n", "line 2\n"],
                "current_inputs": {},
                "current_outputs": [],
                "timestamp": 9,
            },
        )
    )
    assert isinstance(err, ev.ExecutionError)
    assert (err.node_id, err.node_type, err.exception_message, err.exception_type) == (
        "5",
        "KSampler",
        "boom",
        "RuntimeError",
    )
    assert err.traceback == ("line 1\n", "line 2\n") and err.executed == ("1", "2") and err.timestamp == 9
    blocker = parse_text(msg("execution_error", {"prompt_id": PID, "node_id": "5"}))
    assert isinstance(blocker, ev.ExecutionError) and blocker.timestamp is None
    intr = parse_text(
        msg("execution_interrupted", {"prompt_id": PID, "node_id": "5", "node_type": "KSampler", "executed": []})
    )
    assert intr == ev.ExecutionInterrupted(PID, "5", "KSampler", (), None)


def test_logs_and_feature_flags() -> None:
    e = parse_text(msg("logs", {"entries": [{"t": "2026-01-01T00:00:00", "m": "hello\n"}], "size": None}))
    assert e == ev.Logs((ev.LogEntry("2026-01-01T00:00:00", "hello\n"),))
    flags = parse_text(msg("feature_flags", {"supports_preview_metadata": True, "max_upload_size": 10}))
    assert flags == ev.FeatureFlags({"supports_preview_metadata": True, "max_upload_size": 10})


def test_unknown_type_is_kept() -> None:
    e = parse_text(msg("crystools.monitor", {"cpu": 3}))
    assert e == ev.UnknownEvent("crystools.monitor", {"cpu": 3})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1,2]",
        "null",
        '"a string"',
        '{"type": "status"}',
        '{"type": "status", "data": 3}',
        '{"type": "status", "data": {"status": 5}}',
        '{"type": "progress", "data": {"value": Infinity, "max": NaN}}',
        '{"type": "progress", "data": {"value": "x", "max": [1]}}',
        '{"type": "progress_state", "data": {"nodes": [1, 2]}}',
        '{"type": "progress_state", "data": {"nodes": {"1": 5}}}',
        '{"type": "progress_state", "data": {"nodes": {"1": {"value": "abc"}}}}',
        '{"type": "logs", "data": {"entries": [1, null]}}',
        '{"type": "logs", "data": {"entries": 5}}',
        '{"type": "execution_error", "data": {"traceback": 5}}',
        '{"type": "execution_cached", "data": {"nodes": "12"}}',
        '{"type": 5, "data": {}}',
        "[" * 100_000,
        '{"a":' * 50_000,
    ],
)
def test_malformed_text_never_raises(text: str) -> None:
    assert isinstance(parse_text(text), ev.Event)


def test_parse_message_non_dict() -> None:
    assert isinstance(parse_message(None), ev.UnknownEvent)
    assert isinstance(parse_message([1]), ev.UnknownEvent)


def test_infinite_progress_values_default() -> None:
    e = parse_text('{"type": "progress", "data": {"value": Infinity, "max": 8, "node": "5"}}')
    assert isinstance(e, ev.Progress) and e.value == 0 and e.max == 8


# --- binary frames ---------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0fakejpeg"


def test_binary_type1_jpeg_and_png() -> None:
    e = parse_binary(struct.pack(">II", 1, 1) + JPEG)
    assert e == ev.Preview(image=JPEG, mime="image/jpeg")
    p = parse_binary(struct.pack(">II", 1, 2) + b"\x89PNG")
    assert isinstance(p, ev.Preview) and p.mime == "image/png" and p.image == b"\x89PNG" and p.prompt_id is None


def test_binary_type3_text() -> None:
    node = b"12:3"
    frame = struct.pack(">II", 3, len(node)) + node + "64×64 ✓".encode()
    assert parse_binary(frame) == ev.ProgressText(node_id="12:3", text="64×64 ✓")


def test_binary_type4_preview_with_metadata() -> None:
    meta = json.dumps(
        {"node_id": "5", "prompt_id": PID, "display_node_id": "5", "parent_node_id": None, "image_type": "image/png"}
    ).encode()
    frame = struct.pack(">II", 4, len(meta)) + meta + b"\x89PNGdata"
    e = parse_binary(frame)
    assert e == ev.Preview(image=b"\x89PNGdata", mime="image/png", prompt_id=PID, node_id="5")


def test_binary_type4_defaults_to_jpeg() -> None:
    meta = b"{}"
    e = parse_binary(struct.pack(">II", 4, len(meta)) + meta + JPEG)
    assert isinstance(e, ev.Preview) and e.mime == "image/jpeg" and e.prompt_id is None


def test_binary_unknown_type() -> None:
    e = parse_binary(struct.pack(">I", 99) + b"xyz")
    assert isinstance(e, ev.UnknownEvent) and e.type == "binary:99"


def test_preview_repr_hides_bytes() -> None:
    assert "fakejpeg" not in repr(ev.Preview(image=JPEG, mime="image/jpeg"))


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00",
        b"\x00\x00\x00\x01",
        b"\x00\x00\x00\x01\x00\x00",
        b"\x00\x00\x00\x03\x00\x00",
        b"\x00\x00\x00\x03\xff\xff\xff\xff\xfe",
        b"\x00\x00\x00\x04\x00\x00",
        b"\x00\x00\x00\x04\x00\x00\x00\x05{bad",
        b"\x00\x00\x00\x04\x00\x00\x00\x02[]img",
        b"\x00\x00\x00\x04\x00\x00\x00\x02\xff\xfeimg",
        b"\x00\x00\x00\x04\xff\xff\xff\xff{}",
        struct.pack(">II", 4, 200_000) + b"[" * 200_000,
    ],
)
def test_malformed_binary_never_raises(frame: bytes) -> None:
    assert isinstance(parse_binary(frame), ev.Event)


def test_random_garbage_never_raises() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        kind = rng.choice([1, 2, 3, 4, 5])
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 24)))
        assert isinstance(parse_binary(struct.pack(">I", kind) + body), ev.Event)
        text = "".join(rng.choice('{}[]":,0123456789abcdefnulltrue ') for _ in range(rng.randint(0, 40)))
        assert isinstance(parse_text(text), ev.Event)
    kinds = ["status", "executing", "progress", "progress_state", "executed", "execution_error", "logs", "x"]
    values: list[Any] = [None, 1, -1, 1.5, "s", [], {}, [1, "a"], {"a": 1}, True, 1e308]
    for _ in range(3000):
        data = {
            rng.choice(["node", "nodes", "value", "max", "prompt_id", "entries", "status", "output"]): rng.choice(
                values
            )
            for _ in range(rng.randint(0, 4))
        }
        assert isinstance(parse_message({"type": rng.choice(kinds), "data": data}), ev.Event)


# --- EventStream against a local fake server (no ComfyUI) --------------------------------------


class FakeServer:
    """A websockets server that records each handshake and first message, sends two frames, then closes."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.first_messages: list[Any] = []
        self.connections = 0

    async def handler(self, ws: Any) -> None:
        self.connections += 1
        self.requests.append(ws.request)
        try:
            self.first_messages.append(json.loads(await asyncio.wait_for(ws.recv(), 0.5)))
        except TimeoutError:
            self.first_messages.append(None)
        await ws.send(msg("status", {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "abc"}))
        await ws.send(struct.pack(">II", 1, 1) + JPEG)
        if self.connections == 1:
            await ws.close(1001, "going away")
        else:
            await ws.wait_closed()


async def collect_until(stream: EventStream, pred: Any, limit: int = 50) -> list[ev.Event]:
    got: list[ev.Event] = []
    async with asyncio.timeout(10):
        async for e in stream:
            got.append(e)
            if pred(got) or len(got) >= limit:
                break
    return got


async def test_stream_reconnects_and_forwards_auth() -> None:
    fake = FakeServer()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        stream = EventStream(f"http://user:pw@127.0.0.1:{port}/", "abc", max_backoff=0.2, headers={"Origin": "x"})
        assert "pw" not in repr(stream) and "pw" not in stream.url
        got = await collect_until(stream, lambda g: sum(isinstance(e, ev.Preview) for e in g) == 2)
        await stream.close()
    kinds = [type(e).__name__ for e in got]
    assert kinds == [
        "Connected",
        "Status",
        "Preview",
        "Disconnected",
        "Reconnecting",
        "Connected",
        "Status",
        "Preview",
    ]
    assert got[0] == ev.Connected("abc")
    gone = got[3]
    assert isinstance(gone, ev.Disconnected) and "1001" in gone.reason and "going away" in gone.reason
    retry = got[4]
    assert isinstance(retry, ev.Reconnecting) and retry.attempt == 1 and 0 < retry.delay <= 0.2
    req = fake.requests[0]
    assert req.path == "/ws?clientId=abc"
    assert "Origin" not in req.headers
    assert req.headers["Authorization"] == "Basic dXNlcjpwdw=="
    assert fake.first_messages[0] == {"type": "feature_flags", "data": {"supports_preview_metadata": True}}


async def test_stream_without_preview_metadata_sends_nothing() -> None:
    fake = FakeServer()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        stream = EventStream(f"127.0.0.1:{port}", "x y", preview_metadata=False, auth="Bearer t")
        await collect_until(stream, lambda g: any(isinstance(e, ev.Preview) for e in g))
        assert stream.connected
        await stream.close()
        assert not stream.connected
    assert fake.first_messages == [None]
    assert fake.requests[0].path == "/ws?clientId=x%20y"
    assert fake.requests[0].headers["Authorization"] == "Bearer t"


async def test_stream_close_during_backoff_ends_iteration() -> None:
    from comfytui.testbed import free_port

    stream = EventStream(f"http://127.0.0.1:{free_port()}", "c", max_backoff=30)
    got: list[ev.Event] = []
    waiting = asyncio.Event()

    async def read() -> None:
        async for e in stream:
            got.append(e)
            if isinstance(e, ev.Reconnecting) and e.attempt == 3:  # about a second of backoff
                waiting.set()

    task = asyncio.create_task(read())
    async with asyncio.timeout(5):
        await waiting.wait()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await stream.close()
    await asyncio.wait_for(task, 1)
    assert loop.time() - t0 < 0.3
    assert isinstance(got[0], ev.Disconnected) and "cannot connect" in got[0].reason
    assert [e.attempt for e in got if isinstance(e, ev.Reconnecting)] == [1, 2, 3]
    assert not stream.connected


def test_refused_connection_reads_plainly() -> None:
    from comfytui.client.ws import _reason

    assert _reason(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")) == "connection refused"
    assert _reason(TimeoutError()) == "timed out"
