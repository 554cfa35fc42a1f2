"""LiveSession with no server to talk to: it must keep running, say so, and stop cleanly."""

from __future__ import annotations

import asyncio
import time

import pytest

from comfytui.client.errors import ComfyError
from comfytui.live import LiveSession
from comfytui.testbed import free_port


async def test_no_server_is_reported_not_raised() -> None:
    seen: list[set[str]] = []
    live = LiveSession(f"http://127.0.0.1:{free_port()}", max_backoff=0.2, timeout=1.0, on_change=seen.append)
    task = asyncio.create_task(live.run())
    st = live.state
    deadline = time.monotonic() + 10
    while not (st.connection.state == "reconnecting" and live.loaded.is_set()) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert st.connection.state == "reconnecting"
    assert st.connection.retry_in is not None and st.connection.attempt >= 1
    assert st.connection.last_error and "127.0.0.1" in st.connection.last_error
    assert any("connection" in areas for areas in seen)
    assert not task.done()
    await live.stop()
    await asyncio.wait_for(task, 5)


async def test_actions_raise_client_errors_without_a_server() -> None:
    live = LiveSession(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(ComfyError):
        await live.submit({"1": {"class_type": "X", "inputs": {}}})
    with pytest.raises(ComfyError):
        await live.clear_pending()
    await live.client.aclose()
