"""Shared fixtures: one real ComfyUI server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from comfytui.testbed import ComfyServer


@pytest.fixture(scope="session")
def comfy_server() -> Iterator[ComfyServer]:
    """The real ComfyUI 0.3.75 test bed, started once and shared by every test."""
    server = ComfyServer()
    try:
        server.start()
    except Exception:
        server.cleanup()
        raise
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def comfy_url(comfy_server: ComfyServer) -> str:
    return comfy_server.url
