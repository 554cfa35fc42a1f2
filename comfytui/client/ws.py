"""The ComfyUI WebSocket as an endless async stream of typed events, reconnecting by itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from comfytui.client.events import Connected, Disconnected, Event, Reconnecting, parse_binary, parse_text
from comfytui.client.http import auth_header, normalize_base_url, split_credentials

__all__ = ["EventStream", "backoff_delay", "ws_url"]

FEATURE_FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
MAX_FRAME = 64 * 1024 * 1024


def ws_url(base_url: str, client_id: str) -> str:
    """``http(s)://host[:port][/prefix]`` → ``ws(s)://host[:port][/prefix]/ws?clientId=...``."""
    url = normalize_base_url(base_url)
    if url.startswith("https://"):
        url = "wss://" + url[len("https://") :]
    elif url.startswith("http://"):
        url = "ws://" + url[len("http://") :]
    return f"{url}/ws?clientId={quote(client_id, safe='')}"


def backoff_delay(attempt: int, max_backoff: float = 10.0, base: float = 0.25) -> float:
    """Exponential backoff with ±20 % jitter, capped at ``max_backoff``."""
    raw = min(max_backoff, base * 2 ** max(0, min(attempt - 1, 30)))
    return min(max_backoff, raw * random.uniform(0.8, 1.2))


def _closed_reason(code: int, reason: str | None) -> str:
    return f"closed by server (code {code}{': ' + reason if reason else ''})"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        return "connection lost" if rcvd is None else _closed_reason(rcvd.code, rcvd.reason)
    if isinstance(exc, InvalidStatus):
        return f"handshake refused: HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc)
    return text or type(exc).__name__


class EventStream:
    """Iterate to receive events forever: Connected, every server message, Disconnected/Reconnecting on drops.

    Only one consumer may iterate. ``await stream.close()`` ends the iteration.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        *,
        auth: str | None = None,
        preview_metadata: bool = True,
        max_backoff: float = 10.0,
        open_timeout: float = 10.0,
        verify: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url, url_auth = split_credentials(base_url)
        auth = auth or url_auth
        self.client_id = client_id
        self.url = ws_url(self.base_url, client_id)
        self.preview_metadata = preview_metadata
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        hdrs = {k: v for k, v in (headers or {}).items() if k.lower() != "origin"}
        value = auth_header(auth)
        if value is not None:
            hdrs["Authorization"] = value
        self._headers = hdrs
        self._ssl: ssl.SSLContext | None = None
        if self.url.startswith("wss://") and not verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self._ssl = ctx
        self._ws: ClientConnection | None = None
        self._closed = False
        self._close_event = asyncio.Event()
        self._connected = False

    def __repr__(self) -> str:
        return f"EventStream({self.base_url!r}, client_id={self.client_id!r}, connected={self._connected})"

    @property
    def connected(self) -> bool:
        """True while a socket is open."""
        return self._connected

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def close(self) -> None:
        """Stop for good: close the socket; iteration ends."""
        self._closed = True
        self._close_event.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def send(self, message: dict[str, Any]) -> None:
        """Send a JSON message on the open socket (the server only honours feature_flags, first)."""
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.send(json.dumps(message))

    async def _open(self) -> ClientConnection | None:
        """Connect, or return None if close() was called meanwhile. Raises on failure."""
        kwargs: dict[str, Any] = {
            "additional_headers": self._headers or None,
            "open_timeout": self.open_timeout,
            "max_size": MAX_FRAME,
            "compression": None,
        }
        if self._ssl is not None:
            kwargs["ssl"] = self._ssl
        task: asyncio.Task[ClientConnection] = asyncio.ensure_future(connect(self.url, **kwargs))
        closer = asyncio.ensure_future(self._close_event.wait())
        try:
            await asyncio.wait({task, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closer.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return None
        ws = task.result()
        if self._closed:
            await ws.close()
            return None
        return ws

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._close_event.wait(), delay)

    async def _events(self) -> AsyncIterator[Event]:
        attempt = 0
        try:
            while not self._closed:
                try:
                    ws = await self._open()
                except Exception as exc:  # refused, DNS, TLS, timeout, HTTP 4xx/5xx, proxy, bad URL: retry
                    reason = f"cannot connect to {self.base_url}: {_reason(exc)}"
                else:
                    if ws is None:
                        break
                    attempt = 0
                    self._ws = ws
                    self._connected = True
                    reason = "connection closed"
                    try:
                        if self.preview_metadata:
                            await ws.send(json.dumps(FEATURE_FLAGS))
                        yield Connected(self.client_id)
                        async for message in ws:
                            if isinstance(message, str):
                                yield parse_text(message)
                            else:
                                yield parse_binary(bytes(message))
                    except ConnectionClosed as exc:
                        reason = _reason(exc)
                    except OSError as exc:
                        reason = _reason(exc)
                    else:
                        if ws.close_code is not None:
                            reason = _closed_reason(ws.close_code, ws.close_reason)
                    finally:
                        self._ws = None
                        self._connected = False
                    if self._closed:
                        break
                if self._closed:
                    break
                yield Disconnected(reason)
                attempt += 1
                delay = backoff_delay(attempt, self.max_backoff)
                yield Reconnecting(attempt, delay)
                await self._sleep(delay)
        finally:
            self._connected = False
            ws, self._ws = self._ws, None
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
