"""Fixtures for the server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from comfytui.client import ComfyClient


@pytest.fixture
async def client(comfy_url: str) -> AsyncIterator[ComfyClient]:
    """A client of the shared test-bed server that leaves none of its prompts behind."""
    async with ComfyClient(comfy_url, timeout=20) as c:
        yield c
        snap = await c.queue()
        for item in (*snap.running, *snap.pending):
            if item.client_id == c.client_id:
                await c.cancel(item.prompt_id)
