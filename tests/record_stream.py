"""Record raw WebSocket streams (and the /queue and /history answers) from a real ComfyUI server.

    .venv/bin/python -m tests.record_stream [--out tests/data/streams] [--only NAME ...]

Starts its own test-bed server (``comfytui.testbed.ComfyServer``) and writes one JSONL file per scenario. Line 1 is
``{"kind":"meta",...}`` (scenario, role, client_id, prompt ids); then, in arrival order:

- ``{"t":s,"kind":"text","text":raw}``: a text frame, verbatim;
- ``{"t":s,"kind":"binary","b64":...}``: a binary frame (preview images beyond the first bytes are cut,
  except the last one of each prompt, to keep files small; ``"cut":true`` marks them);
- ``{"t":s,"kind":"http","sent":s,"method":...,"path":...,"status":...,"body":json}``: an HTTP answer the client
  got (``sent`` = when the request left, the time a snapshot describes);
- ``{"t":s,"kind":"note","text":...}``: what the recorder did (submit, interrupt, delete a file).

``t`` is seconds since the recording started. Scenarios: txt2img as the submitter and the same run seen by a
monitor, a fully cached rerun, an interrupted run, an execution error (LoadImage of a file deleted after validation),
and a prompt submitted without ``client_id`` seen by a monitor.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import io
import json
import struct
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
OUT = Path(__file__).resolve().parent / "data" / "streams"
FEATURE_FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
KEEP_IMAGE_BYTES = 48


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WORKFLOWS / f"{name}.json").read_text())
    return data


class Recorder:
    """One WebSocket client (and its HTTP calls), recording everything it sees."""

    def __init__(self, url: str, role: str, *, client_id: str | None = None, flags: bool = True) -> None:
        self.url = url.rstrip("/")
        self.role = role
        self.client_id = client_id or uuid.uuid4().hex
        self.flags = flags
        self.records: list[dict[str, Any]] = []
        self.t0 = time.monotonic()
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30)
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._watchers: list[Callable[[dict[str, Any]], None]] = []

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 4)

    def _add(self, rec: dict[str, Any]) -> None:
        self.records.append(rec)
        for w in list(self._watchers):
            w(rec)
        self._changed.set()

    async def open(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + f"/ws?clientId={self.client_id}"
        self._ws = await connect(ws_url, max_size=None, compression=None)
        if self.flags:
            await self._ws.send(json.dumps(FEATURE_FLAGS))
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(Exception):
            async for msg in self._ws:
                if isinstance(msg, str):
                    self._add({"t": self.now(), "kind": "text", "text": msg})
                else:
                    self._add({"t": self.now(), "kind": "binary", "b64": base64.b64encode(msg).decode()})

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        await self.http.aclose()

    def note(self, text: str) -> None:
        self._add({"t": self.now(), "kind": "note", "text": text})

    async def call(self, method: str, path: str, body: Any = None, record: bool = True) -> Any:
        sent = self.now()
        resp = await self.http.request(method, path, json=body)
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = resp.text
        if record:
            rec = {"t": self.now(), "kind": "http", "sent": sent, "method": method, "path": path,
                   "status": resp.status_code, "body": data}  # fmt: skip
            if body is not None:
                rec["request"] = body
            self._add(rec)
        return data

    async def submit(self, prompt: dict[str, Any], *, with_client_id: bool = True, record: bool = True) -> str:
        pid = str(uuid.uuid4())
        body: dict[str, Any] = {"prompt": prompt, "prompt_id": pid}
        if with_client_id:
            body["client_id"] = self.client_id
        self.note(f"submit {pid}" + ("" if with_client_id else " (no client_id)"))
        await self.call("POST", "/prompt", body, record=record)
        return pid

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(r["text"]) for r in self.records if r["kind"] == "text"]

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.role}: condition not met in {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.25))

    def saw(self, kind: str, prompt_id: str | None = None, **match: Any) -> bool:
        for m in self.messages():
            d = m.get("data") or {}
            same = m.get("type") == kind and (prompt_id is None or d.get("prompt_id") == prompt_id)
            if same and all(d.get(k) == v for k, v in match.items()):
                return True
        return False

    def count(self, kind: str) -> int:
        return sum(1 for m in self.messages() if m.get("type") == kind)

    def poll_queue_on_status(self) -> None:
        """Like the dashboard: refresh /queue after every ``status`` frame."""

        def watcher(rec: dict[str, Any]) -> None:
            if rec["kind"] == "text" and '"type": "status"' in rec["text"]:
                asyncio.get_running_loop().create_task(self.call("GET", "/queue"))

        self._watchers.append(watcher)

    async def history_when_done(self, prompt_id: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = await self.call("GET", f"/history/{prompt_id}", record=False)
            if isinstance(data, dict) and prompt_id in data:
                return await self.call("GET", f"/history/{prompt_id}")
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no history for {prompt_id}")

    def dump(self, path: Path, scenario: str, prompt_ids: list[str], comment: str) -> None:
        meta = {
            "kind": "meta",
            "scenario": scenario,
            "role": self.role,
            "client_id": self.client_id,
            "prompt_ids": prompt_ids,
            "comfyui": "0.3.75",
            "comment": comment,
        }
        records = _shrink(self.records)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as fh:
            for rec in [meta, *records]:
                fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes, {len(records)} records)", file=sys.stderr)


def _preview_key(frame: bytes) -> str | None:
    """The prompt id of a type-4 preview, "" for type 1, None if not a preview."""
    if len(frame) < 8:
        return None
    (kind,) = struct.unpack(">I", frame[:4])
    if kind == 1:
        return ""
    if kind == 4:
        (n,) = struct.unpack(">I", frame[4:8])
        try:
            return str(json.loads(frame[8 : 8 + n]).get("prompt_id", ""))
        except ValueError:
            return ""
    return None


def _cut(frame: bytes) -> bytes:
    (kind,) = struct.unpack(">I", frame[:4])
    head = 8 if kind == 1 else 8 + struct.unpack(">I", frame[4:8])[0]
    return frame[: head + KEEP_IMAGE_BYTES]


def _small(frame: bytes) -> bytes:
    """The same preview frame with its JPEG re-encoded at 32 px (still a valid image)."""
    from PIL import Image

    (kind,) = struct.unpack(">I", frame[:4])
    head = 8 if kind == 1 else 8 + struct.unpack(">I", frame[4:8])[0]
    try:
        img = Image.open(io.BytesIO(frame[head:])).convert("RGB")
    except OSError:
        return frame
    img.thumbnail((32, 32))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=60)
    return frame[:head] + buf.getvalue()


def _shrink(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cut every preview image but the last of each prompt (that one is scaled down); trim bulky HTTP fields."""
    last: dict[str, int] = {}
    for i, rec in enumerate(records):
        if rec["kind"] == "binary":
            key = _preview_key(base64.b64decode(rec["b64"]))
            if key is not None:
                last[key] = i
    out: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        if rec["kind"] == "binary":
            frame = base64.b64decode(rec["b64"])
            key = _preview_key(frame)
            if key is not None and last.get(key) != i:
                rec = {**rec, "b64": base64.b64encode(_cut(frame)).decode(), "cut": True}
            elif key is not None:
                rec = {**rec, "b64": base64.b64encode(_small(frame)).decode()}
        elif rec["kind"] == "http" and isinstance(rec.get("body"), dict):
            rec = {**rec, "body": _strip_current_inputs(rec["body"])}
        out.append(rec)
    return out


def _strip_current_inputs(body: dict[str, Any]) -> dict[str, Any]:
    """History error messages carry every input tensor's repr; keep them short."""
    body = copy.deepcopy(body)
    for entry in body.values():
        status = entry.get("status") if isinstance(entry, dict) else None
        for msg in (status or {}).get("messages") or []:
            if isinstance(msg, list) and len(msg) == 2 and isinstance(msg[1], dict) and "current_inputs" in msg[1]:
                msg[1]["current_inputs"] = {k: [str(x)[:80] for x in v] for k, v in msg[1]["current_inputs"].items()}
    return body


def _seeded(prompt: dict[str, Any], seed: int, text: str | None = None) -> dict[str, Any]:
    p = copy.deepcopy(prompt)
    for node in p.values():
        if node.get("class_type") == "KSampler":
            node["inputs"]["seed"] = seed
    if text is not None:
        p["2"]["inputs"]["text"] = text
    return p


async def _done(rec: Recorder, pid: str) -> None:
    await rec.wait_for(lambda: rec.saw("executing", pid, node=None), 120)


# --- scenarios --------------------------------------------------------------------------------------------------


async def scenario_txt2img(url: str, out: Path) -> None:
    """The submitter's stream of a fresh run, and a monitor's view of the same run (status only)."""
    sub = Recorder(url, "submitter")
    mon = Recorder(url, "monitor", flags=False)
    await mon.open()
    mon.poll_queue_on_status()
    await sub.open()
    await asyncio.sleep(0.3)
    prompt = _seeded(workflow("tiny_txt2img"), 1001, "a lighthouse at dusk")
    sub.note("queue before submit")
    await sub.call("GET", "/queue")
    pid = await sub.submit(prompt)
    mon.note(f"another client submitted {pid}")
    await sub.wait_for(lambda: sub.saw("execution_start", pid))
    await sub.call("GET", "/queue")
    await _done(sub, pid)
    await sub.history_when_done(pid)
    await mon.history_when_done(pid)
    await asyncio.sleep(0.3)
    sub.dump(out / "txt2img_submitter.jsonl", "txt2img_submitter", [pid], "tiny_txt2img, 8 steps, as the submitter")
    mon.dump(out / "txt2img_monitor.jsonl", "txt2img_monitor", [pid], "the same run seen by another client")
    await sub.close()
    await mon.close()


async def scenario_cached(url: str, out: Path) -> None:
    """Run a prompt, then record its identical rerun (every node cached)."""
    warm = Recorder(url, "warmup")
    await warm.open()
    prompt = _seeded(workflow("tiny_txt2img"), 1002)
    pid0 = await warm.submit(prompt)
    await _done(warm, pid0)
    await warm.close()
    sub = Recorder(url, "submitter")
    await sub.open()
    await asyncio.sleep(0.3)
    pid = await sub.submit(prompt)
    await _done(sub, pid)
    await sub.history_when_done(pid)
    await asyncio.sleep(0.3)
    sub.dump(out / "cached_rerun.jsonl", "cached_rerun", [pid], "identical rerun: every node cached")
    await sub.close()


async def scenario_interrupted(url: str, out: Path) -> None:
    """tiny_slow, interrupted after a few steps."""
    sub = Recorder(url, "submitter")
    await sub.open()
    await asyncio.sleep(0.3)
    prompt = _seeded(workflow("tiny_slow"), 1003)
    for node in prompt.values():  # 512x512 still samples long enough; smaller previews keep the file small
        if node["class_type"] == "EmptyLatentImage":
            node["inputs"]["width"] = node["inputs"]["height"] = 256
    pid = await sub.submit(prompt)
    await sub.wait_for(lambda: sub.count("progress") >= 5, 120)
    sub.note("interrupt")
    await sub.call("POST", "/interrupt", {"prompt_id": pid})
    await _done(sub, pid)
    await sub.history_when_done(pid)
    await asyncio.sleep(0.3)
    sub.dump(out / "interrupted.jsonl", "interrupted", [pid], "tiny_slow interrupted after 5 steps")
    await sub.close()


async def scenario_error(url: str, out: Path, input_dir: Path) -> None:
    """img2img whose input file vanishes between validation and execution: LoadImage fails."""
    blocker = Recorder(url, "blocker")
    sub = Recorder(url, "submitter")
    await blocker.open()
    await sub.open()
    await asyncio.sleep(0.3)
    png = _png(64, 64)
    name = f"vanishing-{uuid.uuid4().hex[:6]}.png"
    up = await blocker.http.post("/upload/image", files={"image": (name, png)}, data={"type": "input"})
    up.raise_for_status()
    slow = _seeded(workflow("tiny_slow"), 1004)
    slow_id = await blocker.submit(slow)
    await blocker.wait_for(lambda: blocker.saw("execution_start", slow_id), 60)
    prompt = _seeded(workflow("tiny_img2img"), 1005)
    for node in prompt.values():
        if node["class_type"] == "LoadImage":
            node["inputs"]["image"] = name
    pid = await sub.submit(prompt)
    (input_dir / name).unlink()
    sub.note(f"deleted input/{name}")
    await blocker.call("POST", "/interrupt", {"prompt_id": slow_id})
    await _done(sub, pid)
    await sub.history_when_done(pid)
    await asyncio.sleep(0.3)
    sub.dump(out / "error.jsonl", "error", [pid], "LoadImage of a file deleted after validation")
    await sub.close()
    await blocker.close()


async def scenario_no_client_id(url: str, out: Path) -> None:
    """A prompt submitted with no client_id: every socket gets its progress, progress_state and previews."""
    mon = Recorder(url, "monitor", flags=True)
    await mon.open()
    mon.poll_queue_on_status()
    await asyncio.sleep(0.3)
    poster = httpx.AsyncClient(base_url=url, timeout=30)
    prompt = _seeded(workflow("tiny_txt2img"), 1006, "a castle in the clouds")
    pid = str(uuid.uuid4())
    mon.note(f"another program submitted {pid} without client_id")
    (await poster.post("/prompt", json={"prompt": prompt, "prompt_id": pid})).raise_for_status()
    await poster.aclose()
    await mon.history_when_done(pid)
    await asyncio.sleep(0.5)
    mon.dump(out / "no_client_id_monitor.jsonl", "no_client_id_monitor", [pid], "submitted without client_id")
    await mon.close()


def _png(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 80, 40)).save(buf, format="PNG")
    return buf.getvalue()


SCENARIOS = ("txt2img", "cached", "interrupted", "error", "no_client_id")


async def record(url: str, out: Path, input_dir: Path, only: set[str]) -> None:
    if not only or "txt2img" in only:
        await scenario_txt2img(url, out)
    if not only or "cached" in only:
        await scenario_cached(url, out)
    if not only or "interrupted" in only:
        await scenario_interrupted(url, out)
    if not only or "error" in only:
        await scenario_error(url, out, input_dir)
    if not only or "no_client_id" in only:
        await scenario_no_client_id(url, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=[])
    args = parser.parse_args(argv)
    from comfytui.testbed import ComfyServer

    with ComfyServer() as server:
        # warm the model up once so the recorded runs are typical
        asyncio.run(_warmup(server.url))
        asyncio.run(record(server.url, args.out, server.input_dir, set(args.only)))
    return 0


async def _warmup(url: str) -> None:
    rec = Recorder(url, "warmup")
    await rec.open()
    pid = await rec.submit(_seeded(workflow("tiny_txt2img"), 7))
    await _done(rec, pid)
    await rec.close()


if __name__ == "__main__":
    raise SystemExit(main())
