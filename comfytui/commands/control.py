"""Scriptable queue control: `queue`, `history`, `status`, `interrupt`, `clear`, `delete`, `fetch`.

Each prints a short human summary, or JSON with ``--json``; errors are one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from comfytui.batch.names import UnsafePath, safe_relpath, write_atomic
from comfytui.client.errors import ComfyError, ServerUnreachable
from comfytui.client.http import ComfyClient
from comfytui.client.models import HistoryEntry, QueueItem
from comfytui.client.ws import backoff_delay
from comfytui.store.redact import redact, redact_url

__all__ = ["register"]

EXIT_FAILED = 1
EXIT_UNREACHABLE = 3

Action = Callable[[ComfyClient, argparse.Namespace], Awaitable[int]]


class _Fail(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def add(name: str, action: Action, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--retries", type=int, default=3, help="connection attempts (default 3)")
        p.set_defaults(func=lambda args: _main(args, action))
        return p

    add("queue", _queue, "show the server's queue (running and pending prompts)")
    h = add("history", _history, "show recent finished prompts")
    h.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add("status", _status, "show the server's version, devices and queue length")
    i = add("interrupt", _interrupt, "interrupt the running prompt (only if it is PROMPT_ID, when given)")
    i.add_argument("prompt_id", nargs="?", metavar="PROMPT_ID")
    add("clear", _clear, "remove every pending prompt from the queue")
    d = add("delete", _delete, "remove pending prompts from the queue")
    d.add_argument("prompt_ids", nargs="+", metavar="PROMPT_ID")
    f = add("fetch", _fetch, "download the outputs of a finished prompt")
    f.add_argument("prompt_id", metavar="PROMPT_ID")
    f.add_argument("--out", type=Path, default=Path("."), help="folder to save into (default .)")


def _main(args: argparse.Namespace, action: Action) -> int:
    try:
        return asyncio.run(_with_client(args, action))
    except _Fail as exc:
        print(f"comfytui {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return exc.code


async def _with_client(args: argparse.Namespace, action: Action) -> int:
    attempts = max(1, args.retries)
    async with ComfyClient(args.server, timeout=30) as client:
        for attempt in range(1, attempts + 1):
            try:
                return await action(client, args)
            except ServerUnreachable as exc:
                if attempt == attempts:
                    where = redact_url(client.base_url)
                    raise _Fail(f"cannot reach ComfyUI at {where} ({exc.reason})", EXIT_UNREACHABLE) from None
                await asyncio.sleep(backoff_delay(attempt, 4.0, base=0.5))
            except ComfyError as exc:
                raise _Fail(str(exc).splitlines()[0]) from None
    raise AssertionError("unreachable")


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(redact(data), indent=2, default=str))
    elif text:
        print(text)


def _when(ms: int | None) -> str:
    return "" if ms is None else time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def _item(i: QueueItem) -> dict[str, Any]:
    return {
        "number": i.number,
        "prompt_id": i.prompt_id,
        "client_id": i.client_id,
        "create_time": i.create_time,
        "nodes": len(i.prompt),
        "outputs": i.outputs_to_execute,
    }


async def _queue(client: ComfyClient, args: argparse.Namespace) -> int:
    snap = await client.queue()
    data = {"running": [_item(i) for i in snap.running], "pending": [_item(i) for i in snap.pending]}
    lines = [f"{len(snap.running)} running, {len(snap.pending)} pending"]
    for state, items in (("running", snap.running), ("pending", snap.pending)):
        for i in items:
            lines.append(
                f"{state:8} {i.prompt_id}  #{i.number:g}  {len(i.prompt)} nodes  queued {_when(i.create_time)}"
            )
    _out(args, data, "\n".join(lines))
    return 0


def _entry(e: HistoryEntry) -> dict[str, Any]:
    return {
        "prompt_id": e.prompt_id,
        "number": e.number,
        "outcome": e.outcome,
        "status": e.status_str,
        "start_time": e.start_time,
        "end_time": e.end_time,
        "duration": e.duration,
        "files": [
            {"node": n, "filename": f.filename, "subfolder": f.subfolder, "type": f.type} for n, _k, f in e.files
        ],
        "error": (e.error or {}).get("exception_message"),
    }


async def _history(client: ComfyClient, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise _Fail("--limit must be at least 1", 2)
    entries = list(reversed(await client.history(max_items=args.limit)))  # newest first
    lines = []
    for e in entries:
        took = f"{e.duration:.2f}s" if e.duration is not None else "-"
        lines.append(f"{e.prompt_id}  {e.outcome:11} {took:>8}  {len(e.files)} file(s)  ended {_when(e.end_time)}")
    _out(args, [_entry(e) for e in entries], "\n".join(lines) or "no history")
    return 0


async def _status(client: ComfyClient, args: argparse.Namespace) -> int:
    stats = await client.system_stats()
    snap = await client.queue()
    data = {
        "server": redact_url(client.base_url),
        "comfyui_version": stats.comfyui_version,
        "python_version": stats.python_version,
        "pytorch_version": stats.pytorch_version,
        "os": stats.os,
        "ram_total": stats.ram_total,
        "ram_free": stats.ram_free,
        "devices": [
            {"name": d.name, "type": d.type, "vram_total": d.vram_total, "vram_free": d.vram_free}
            for d in stats.devices
        ],
        "queue": {"running": len(snap.running), "pending": len(snap.pending), "running_id": snap.running_id},
    }
    gib = 1024**3
    devices = ", ".join(d.name for d in stats.devices) or "?"
    text = (
        f"ComfyUI {stats.comfyui_version or '?'} at {data['server']}\n"
        f"queue: {len(snap.running)} running, {len(snap.pending)} pending\n"
        f"RAM: {stats.ram_free / gib:.1f} of {stats.ram_total / gib:.1f} GiB free; devices: {devices}"
    )
    _out(args, data, text)
    return 0


async def _interrupt(client: ComfyClient, args: argparse.Namespace) -> int:
    snap = await client.queue()
    running = snap.running_id
    target = args.prompt_id
    if target is not None and running != target:
        pending = any(i.prompt_id == target for i in snap.pending)
        why = "it is pending; use `comfytui delete`" if pending else "it is not running"
        _out(args, {"interrupted": False, "running": running, "reason": why}, "")
        raise _Fail(f"{target} was not interrupted: {why}")
    await client.interrupt(target)
    text = f"interrupted {running}" if running else "nothing was running"
    _out(args, {"interrupted": running is not None, "prompt_id": running}, text)
    return 0


async def _clear(client: ComfyClient, args: argparse.Namespace) -> int:
    snap = await client.queue()
    await client.clear_queue()
    ids = [i.prompt_id for i in snap.pending]
    _out(args, {"removed": ids}, f"removed {len(ids)} pending prompt{'s' if len(ids) != 1 else ''}")
    return 0


async def _delete(client: ComfyClient, args: argparse.Namespace) -> int:
    snap = await client.queue()
    pending = {i.prompt_id for i in snap.pending}
    found = [p for p in args.prompt_ids if p in pending]
    await client.delete_queued(found)
    missing = [p for p in args.prompt_ids if p not in pending]
    lines = [f"removed {p}" for p in found]
    for p in missing:
        lines.append(
            f"not pending: {p}" + (" (it is running; use `comfytui interrupt`)" if p == snap.running_id else "")
        )
    _out(args, {"removed": found, "not_pending": missing}, "\n".join(lines))
    return EXIT_FAILED if missing else 0


async def _fetch(client: ComfyClient, args: argparse.Namespace) -> int:
    entry = await client.history_entry(args.prompt_id)
    if entry is None:
        raise _Fail(f"no finished prompt {args.prompt_id} in the server's history")
    out: Path = args.out
    saved: list[dict[str, Any]] = []
    used: set[str] = set()
    for node, _key, f in entry.files:
        rel = safe_relpath(f.subfolder, f.filename)
        k = 1
        base = rel
        while str(rel) in used:
            rel = base.with_name(f"{base.stem}-{k}{base.suffix}")
            k += 1
        used.add(str(rel))
        try:
            data = await client.view(f)
            path = await asyncio.to_thread(write_atomic, out, rel, data)
        except (UnsafePath, OSError) as exc:
            raise _Fail(f"cannot save {f.filename!r}: {exc}") from None
        saved.append(
            {
                "node": node,
                "path": str(path),
                "server": {"filename": f.filename, "subfolder": f.subfolder, "type": f.type},
            }
        )
    if not saved:
        _out(args, {"prompt_id": args.prompt_id, "outcome": entry.outcome, "files": []}, "no files")
        return 0 if entry.outcome in ("success", "cached") else EXIT_FAILED
    _out(
        args,
        {"prompt_id": args.prompt_id, "outcome": entry.outcome, "files": saved},
        "\n".join(s["path"] for s in saved),
    )
    return 0
