"""`comfytui queue|history|status|interrupt|clear|delete|fetch` against the real test bed."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from comfytui import cli
from comfytui.testbed import free_port

pytestmark = pytest.mark.server

WF = Path(__file__).resolve().parents[2] / "workflows" / "tiny_txt2img.json"


def graph(steps: int) -> dict[str, Any]:
    g = dict(json.loads(WF.read_text()))
    g["5"]["inputs"]["steps"] = steps
    g["5"]["inputs"]["seed"] = random.randrange(2**32)
    return g


def submit(http: httpx.Client, steps: int) -> str:
    pid = str(uuid.uuid4())
    resp = http.post("/prompt", json={"prompt": graph(steps), "client_id": "test-control", "prompt_id": pid})
    assert resp.status_code == 200, resp.text
    return pid


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def cmd(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, Any, str]:
    """Run a command with --json; returns (exit code, parsed stdout or None, stderr)."""
    capsys.readouterr()
    rc = cli.main([*args, "--server", url, "--json"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out.strip() else None), err


def test_queue_control(comfy_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=comfy_url, timeout=10) as http:
        slow = [submit(http, 2000) for _ in range(3)]  # ~25 s each: they never finish on their own
        wait_until(lambda: http.get("/queue").json()["queue_running"][:1] and True)

        rc, q, _ = cmd(capsys, comfy_url, "queue")
        assert rc == 0
        assert q["running"][0]["prompt_id"] == slow[0] and q["running"][0]["client_id"] == "test-control"
        pending = [i["prompt_id"] for i in q["pending"]]
        assert pending[-2:] == slow[1:]
        assert "number" in q["pending"][0] and q["pending"][0]["nodes"] == 7

        rc, data, err = cmd(capsys, comfy_url, "delete", slow[1], "not-a-prompt")
        assert rc == 1 and data == {"removed": [slow[1]], "not_pending": ["not-a-prompt"]}

        rc, data, err = cmd(capsys, comfy_url, "interrupt", slow[2])  # pending, not running
        assert rc == 1 and "it is pending" in err and len(err.strip().splitlines()) == 1

        rc, data, _ = cmd(capsys, comfy_url, "clear")
        assert rc == 0 and slow[2] in data["removed"]

        rc, data, _ = cmd(capsys, comfy_url, "interrupt", slow[0])
        assert rc == 0 and data == {"interrupted": True, "prompt_id": slow[0]}
        wait_until(lambda: slow[0] in http.get(f"/history/{slow[0]}").json())

        rc, data, _ = cmd(capsys, comfy_url, "interrupt")  # nothing running now
        assert rc == 0 and data["interrupted"] is False

        rc, hist, _ = cmd(capsys, comfy_url, "history", "--limit", "5")
        assert rc == 0
        mine = [h for h in hist if h["prompt_id"] == slow[0]]
        assert mine and mine[0]["outcome"] == "interrupted"
        assert all(h["prompt_id"] not in slow[1:] for h in hist)  # deleted ones never ran

        queue = http.get("/queue").json()
        assert not {i[1] for i in queue["queue_running"] + queue["queue_pending"]} & set(slow)


def test_status_history_and_fetch(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, status, _ = cmd(capsys, comfy_url, "status")
    assert rc == 0 and status["comfyui_version"] == "0.3.75" and "running" in status["queue"]

    with httpx.Client(base_url=comfy_url, timeout=10) as http:
        pid = submit(http, 3)
        wait_until(lambda: pid in http.get(f"/history/{pid}").json())
        entry = http.get(f"/history/{pid}").json()[pid]
        image = entry["outputs"]["7"]["images"][0]
        original = http.get("/view", params=image).content

    rc, hist, _ = cmd(capsys, comfy_url, "history", "--limit", "3")
    assert rc == 0 and hist[0]["prompt_id"] == pid and hist[0]["outcome"] == "success"
    assert hist[0]["files"][0]["filename"] == image["filename"] and hist[0]["duration"] > 0

    rc, data, _ = cmd(capsys, comfy_url, "fetch", pid, "--out", str(tmp_path / "f"))
    assert rc == 0 and data["outcome"] == "success"
    (saved,) = data["files"]
    assert Path(saved["path"]).read_bytes() == original
    assert Path(saved["path"]).parent == (tmp_path / "f").resolve()

    # Human output: one line per thing, no JSON.
    capsys.readouterr()
    assert cli.main(["queue", "--server", comfy_url]) == 0
    assert "running" in capsys.readouterr().out
    assert cli.main(["status", "--server", comfy_url]) == 0
    assert "ComfyUI 0.3.75" in capsys.readouterr().out


def test_control_errors_are_one_line(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _data, err = cmd(capsys, comfy_url, "fetch", str(uuid.uuid4()), "--out", str(tmp_path))
    assert rc == 1 and "no finished prompt" in err and len(err.strip().splitlines()) == 1
    dead = f"http://127.0.0.1:{free_port()}"
    for args in (["queue"], ["history"], ["status"], ["interrupt"], ["clear"], ["delete", "x"], ["fetch", "x"]):
        rc, _data, err = cmd(capsys, dead, *args, "--retries", "1")
        assert rc == 3, args
        assert "cannot reach ComfyUI" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
