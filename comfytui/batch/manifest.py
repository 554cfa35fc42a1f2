"""``manifest.json``: what a run made — per prompt its id, inputs, seed, timings and files (secrets redacted)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from comfytui.store.journal import ItemRecord, RunRecord
from comfytui.store.redact import redact

__all__ = ["MANIFEST_NAME", "build_manifest", "write_manifest"]

MANIFEST_NAME = "manifest.json"


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _item(item: ItemRecord) -> dict[str, Any]:
    outputs = item.outputs
    files = []
    for i, rel in enumerate(item.files):
        src = outputs[i] if i < len(outputs) else {}
        files.append(
            {"path": rel, "node": src.get("node"), "server": {k: src.get(k) for k in ("filename", "subfolder", "type")}}
        )
    return {
        "index": item.index,
        "prompt_id": item.prompt_id,
        "status": item.status,
        "seed": item.seed,
        "text": item.text,
        "inputs": item.inputs,
        "attempts": item.attempts,
        "submitted_at": _iso(item.submitted_at),
        "started_at": _iso(item.started_at),
        "ended_at": _iso(item.ended_at),
        "exec_seconds": item.exec_seconds,
        "files": files,
        "error": item.error,
    }


def build_manifest(run: RunRecord, items: list[ItemRecord], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest as a dict."""
    done = [i for i in items if i.status == "done"]
    return redact(
        {
            "run": run.id,
            "status": run.status,
            "workflow": run.workflow,
            "server": run.server,
            "created": _iso(run.created),
            "written": _iso(time.time()),
            "params": run.params,
            "total": len(items),
            "succeeded": len(done),
            "failed": sum(1 for i in items if i.status == "failed"),
            "busy_seconds": round(sum(i.exec_seconds or 0.0 for i in items), 3),
            **(extra or {}),
            "items": [_item(i) for i in items],
        }
    )


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``out_dir/manifest.json`` atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MANIFEST_NAME
    tmp = out_dir / f".{MANIFEST_NAME}.{os.getpid()}.part"
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
