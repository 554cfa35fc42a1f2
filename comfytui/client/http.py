"""Async HTTP client for the ComfyUI server (httpx)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from comfytui.client.errors import ComfyError, PromptRejected, ServerError, ServerUnreachable
from comfytui.client.events import LogEntry
from comfytui.client.models import HistoryEntry, OutputFile, QueueSnapshot, SubmitResult, SystemStats

if TYPE_CHECKING:
    from comfytui.client.ws import EventStream

__all__ = ["ComfyClient", "auth_header", "normalize_base_url", "split_credentials"]


def normalize_base_url(base_url: str) -> str:
    """``host:port`` → ``http://host:port``; no trailing slash; credentials in the URL dropped."""
    return split_credentials(base_url)[0]


def split_credentials(base_url: str) -> tuple[str, str | None]:
    """Split ``http://user:pw@host`` into ``("http://host", "user:pw")`` so credentials never show in messages."""
    url = base_url.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    creds = unquote(user) + (":" + unquote(password) if sep else "")
    return urlunsplit(parts._replace(netloc=host)), creds or None


def auth_header(auth: str | None) -> str | None:
    """The ``Authorization`` value for ``auth``.

    ``"Bearer TOKEN"`` (any ``Scheme value``) is sent as is; ``"user:password"`` becomes Basic; a bare token becomes
    Bearer.
    """
    if not auth:
        return None
    auth = auth.strip()
    if " " in auth:
        return auth
    if ":" in auth:
        return "Basic " + base64.b64encode(auth.encode("utf-8")).decode("ascii")
    return "Bearer " + auth


def _clean_headers(headers: dict[str, str] | None) -> dict[str, str]:
    # The server answers 403 to a loopback Host with a different Origin: never send one.
    return {k: v for k, v in (headers or {}).items() if k.lower() != "origin"}


class ComfyClient:
    """One ComfyUI server, spoken to over HTTP. Use as ``async with ComfyClient(url) as c: ...``."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        auth: str | None = None,
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        self.base_url, url_auth = split_credentials(base_url)
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout
        self.verify = verify
        self._auth = auth or url_auth
        auth = self._auth
        self._extra_headers = _clean_headers(headers)
        hdrs = dict(self._extra_headers)
        value = auth_header(auth)
        if value is not None:
            hdrs["Authorization"] = value
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=hdrs,
            timeout=httpx.Timeout(timeout),
            verify=verify,
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"ComfyClient({self.base_url!r}, client_id={self.client_id!r})"

    @property
    def auth(self) -> str | None:
        """The credentials given (for opening a matching EventStream); never printed."""
        return self._auth

    def event_stream(self, **kwargs: Any) -> EventStream:
        """An EventStream for this server and client id, with the same credentials, headers and TLS setting."""
        from comfytui.client.ws import EventStream

        opts: dict[str, Any] = {"auth": self._auth, "headers": self._extra_headers, "verify": self.verify}
        opts.update(kwargs)
        return EventStream(self.base_url, self.client_id, **opts)

    async def __aenter__(self) -> ComfyClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing -------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; network failures become ServerUnreachable, whatever the status."""
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            reason = f"no answer within {self.timeout:g}s ({type(exc).__name__})"
            raise ServerUnreachable(self.base_url, reason) from exc
        except httpx.TransportError as exc:
            raise ServerUnreachable(self.base_url, str(exc) or type(exc).__name__) from exc
        except httpx.HTTPError as exc:  # invalid URL and similar
            raise ComfyError(f"{method} {self.base_url}{path}: {exc}") from exc

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        resp = await self._send(method, path, **kwargs)
        if not resp.is_success:
            raise ServerError(method, self.base_url + path, resp.status_code, resp.text)
        return resp

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = await self._request(method, path, **kwargs)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as exc:
            raise ServerError(method, self.base_url + path, resp.status_code, "invalid JSON: " + resp.text) from exc

    # --- prompts and queue ---------------------------------------------------------------

    async def submit(
        self,
        prompt: dict[str, Any],
        *,
        front: bool = False,
        extra_data: dict[str, Any] | None = None,
        prompt_id: str | None = None,
        partial_targets: list[str] | None = None,
        number: float | None = None,
    ) -> SubmitResult:
        """Queue an API-format prompt; raises PromptRejected when validation fails."""
        pid = prompt_id or str(uuid.uuid4())
        body: dict[str, Any] = {"prompt": prompt, "client_id": self.client_id, "prompt_id": pid}
        if front:
            body["front"] = True
        if extra_data:
            body["extra_data"] = extra_data
        if partial_targets is not None:
            body["partial_execution_targets"] = list(partial_targets)
        if number is not None:
            body["number"] = number
        resp = await self._send("POST", "/prompt", json=body)
        if resp.status_code == 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = {"error": {"type": "bad_request", "message": resp.text.strip() or "HTTP 400"}}
            raise PromptRejected(payload)
        if not resp.is_success:
            raise ServerError("POST", self.base_url + "/prompt", resp.status_code, resp.text)
        try:
            payload = resp.json()
        except ValueError:
            payload = {}
        return SubmitResult.from_raw(payload, fallback_id=pid)

    async def queue_remaining(self) -> int:
        """``GET /prompt``: pending + running."""
        data = await self._json("GET", "/prompt")
        try:
            return int(data["exec_info"]["queue_remaining"])
        except (KeyError, TypeError, ValueError):
            return 0

    async def queue(self) -> QueueSnapshot:
        return QueueSnapshot.from_raw(await self._json("GET", "/queue"))

    async def delete_queued(self, prompt_ids: list[str]) -> None:
        """Remove pending prompts (a running one is not touched: interrupt it)."""
        if prompt_ids:
            await self._request("POST", "/queue", json={"delete": list(prompt_ids)})

    async def clear_queue(self) -> None:
        """Remove every pending prompt."""
        await self._request("POST", "/queue", json={"clear": True})

    async def interrupt(self, prompt_id: str | None = None) -> None:
        """Interrupt the running prompt (only if it is ``prompt_id``, when given)."""
        await self._request("POST", "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {})

    async def cancel(self, prompt_id: str, *, timeout: float = 10.0, interval: float = 0.1) -> bool:
        """Take a prompt out of the way, pending or running; returns False if it was in neither.

        Pending prompts are deleted. A running one is interrupted, and the interrupt is repeated until the prompt
        leaves the running slot: the server drops an interrupt that lands before the prompt's execution begins.
        Raises TimeoutError if it is still there after ``timeout`` seconds.
        """
        found = False
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.queue()
            if any(i.prompt_id == prompt_id for i in snap.pending):
                await self.delete_queued([prompt_id])
            elif snap.running_id == prompt_id:
                await self.interrupt(prompt_id)
            else:
                return found
            found = True
            if time.monotonic() >= deadline:
                raise TimeoutError(f"prompt {prompt_id} is still queued or running after {timeout:.1f}s")
            await asyncio.sleep(interval)

    # --- history ---------------------------------------------------------------------

    async def history(self, max_items: int | None = None, offset: int | None = None) -> list[HistoryEntry]:
        """Finished runs, oldest first (``max_items`` alone gives the newest N)."""
        params: dict[str, int] = {}
        if max_items is not None:
            params["max_items"] = max_items
        if offset is not None:
            params["offset"] = offset
        data = await self._json("GET", "/history", params=params)
        if not isinstance(data, dict):
            return []
        return [HistoryEntry.from_raw(pid, raw) for pid, raw in data.items()]

    async def history_entry(self, prompt_id: str) -> HistoryEntry | None:
        data = await self._json("GET", f"/history/{quote(prompt_id, safe='')}")
        if not isinstance(data, dict) or prompt_id not in data:
            return None
        return HistoryEntry.from_raw(prompt_id, data[prompt_id])

    async def delete_history(self, prompt_ids: list[str]) -> None:
        if prompt_ids:
            await self._request("POST", "/history", json={"delete": list(prompt_ids)})

    async def clear_history(self) -> None:
        await self._request("POST", "/history", json={"clear": True})

    async def wait_for_history(self, prompt_id: str, timeout: float = 60.0, interval: float = 0.1) -> HistoryEntry:
        """Poll ``/history/{id}`` until the entry exists; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            entry = await self.history_entry(prompt_id)
            if entry is not None:
                return entry
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no history for prompt {prompt_id} after {timeout:.1f}s")
            await asyncio.sleep(interval)

    # --- files --------------------------------------------------------------------------

    async def view(
        self, f: OutputFile | None = None, *, filename: str | None = None, subfolder: str = "", type: str = "output"
    ) -> bytes:
        """Download an output/input/temp file."""
        if f is not None:
            filename, subfolder, type = f.filename, f.subfolder, f.type
        if not filename:
            raise ValueError("view() needs a file or a filename")
        params = {"filename": filename, "subfolder": subfolder, "type": type}
        resp = await self._request("GET", "/view", params=params)
        return resp.content

    def view_url(self, f: OutputFile) -> str:
        """The URL of a file (no credentials in it)."""
        params = httpx.QueryParams({"filename": f.filename, "subfolder": f.subfolder, "type": f.type})
        return f"{self.base_url}/view?{params}"

    async def upload_image(
        self,
        data: bytes | Path,
        filename: str | None = None,
        *,
        subfolder: str = "",
        type: str = "input",
        overwrite: bool = False,
    ) -> OutputFile:
        """Upload an image; returns where the server stored it (it may rename it)."""
        if isinstance(data, Path):
            filename = filename or data.name
            content = data.read_bytes()
        else:
            content = data
        name = filename or f"upload-{uuid.uuid4().hex[:8]}.png"
        form = {"type": type, "subfolder": subfolder, "overwrite": "true" if overwrite else "false"}
        payload = await self._json("POST", "/upload/image", files={"image": (name, content)}, data=form)
        result = OutputFile.from_raw(payload)
        if result is None:
            raise ServerError("POST", "/upload/image", 200, f"unexpected answer: {json.dumps(payload)[:200]}")
        return result

    # --- catalogue and system ----------------------------------------------------------

    async def object_info(self, node_class: str | None = None) -> dict[str, Any]:
        """``{class: info}`` for every node class, or just one (``{}`` if unknown)."""
        path = "/object_info" if node_class is None else f"/object_info/{quote(node_class, safe='')}"
        data = await self._json("GET", path)
        return data if isinstance(data, dict) else {}

    async def system_stats(self) -> SystemStats:
        return SystemStats.from_raw(await self._json("GET", "/system_stats"))

    async def features(self) -> dict[str, Any]:
        data = await self._json("GET", "/features")
        return data if isinstance(data, dict) else {}

    async def free(self, unload_models: bool = False, free_memory: bool = True) -> None:
        """Ask the server to unload models / free memory (done between prompts)."""
        await self._request("POST", "/free", json={"unload_models": unload_models, "free_memory": free_memory})

    async def models(self, folder: str | None = None) -> list[str]:
        """Model folder names, or the files of one folder."""
        data = await self._json("GET", "/models" if folder is None else f"/models/{quote(folder, safe='')}")
        return [str(x) for x in data] if isinstance(data, list) else []

    async def logs_raw(self) -> list[LogEntry]:
        """The server's log ring buffer (last 300 entries)."""
        data = await self._json("GET", "/internal/logs/raw")
        entries = data.get("entries") if isinstance(data, dict) else None
        result: list[LogEntry] = []
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict):
                result.append(LogEntry(str(e.get("t", "")), str(e.get("m", ""))))
        return result

    async def subscribe_logs(self, enabled: bool = True) -> None:
        """Have the server push ``logs`` messages to this client's socket."""
        await self._request("PATCH", "/internal/logs/subscribe", json={"clientId": self.client_id, "enabled": enabled})
