"""`comfytui run` against the real ComfyUI test bed."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from comfytui import cli
from comfytui.store.journal import Journal
from comfytui.testbed import ComfyServer, free_port

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
WF = str(ROOT / "workflows" / "tiny_txt2img.json")
UI_WF = str(ROOT / "tests" / "data" / "ui_workflows" / "tiny_plain.ui.json")
CLI = [sys.executable, "-c", "import sys; from comfytui.cli import main; sys.exit(main())"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COMFYTUI_API_KEY", raising=False)
    monkeypatch.delenv("COMFYTUI_SERVER", raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def png_prompt(path: Path) -> dict[str, Any]:
    """The API graph ComfyUI embedded in the PNG (what was actually run)."""
    with Image.open(path) as img:
        return dict(json.loads(img.info["prompt"]))


def manifest(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "manifest.json").read_text()))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_batch_of_50_with_a_seed_sweep(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--seed", "1000..1049", "--out", str(tmp_path),
        "--set", "KSampler.steps=4",
    )  # fmt: skip
    assert rc == 0, err
    run_dir = Path(out.strip())
    assert run_dir.parent == tmp_path.resolve()
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == [f"{i:03d}_7_0.png" for i in range(1, 51)] + ["manifest.json"]
    m = manifest(run_dir)
    assert (m["total"], m["succeeded"], m["failed"], m["status"]) == (50, 50, 0, "done")
    items = m["items"]
    assert [i["index"] for i in items] == list(range(1, 51))
    assert [i["seed"] for i in items] == list(range(1000, 1050))
    assert len({i["prompt_id"] for i in items}) == 50
    for item in items:
        assert item["status"] == "done" and item["attempts"] == 1 and item["exec_seconds"] > 0
        (f,) = item["files"]
        assert f["path"] == f"{item['index']:03d}_7_0.png" and f["node"] == "7"
        graph = png_prompt(run_dir / f["path"])  # the image really is the one made with this seed
        assert graph["5"]["inputs"]["seed"] == item["seed"]
    # Submit-ahead: prompts are queued before the one before them finishes (the server never waits for us).
    # (Not every single one: a loaded 2-core test machine can stall the client for a moment.)
    ahead = sum(cur["submitted_at"] < prev["ended_at"] for prev, cur in itertools.pairwise(items))
    assert ahead >= 0.9 * (len(items) - 1)
    # The server ran each prompt once and kept it in its history.
    with httpx.Client(base_url=comfy_url) as http:
        hist = http.get("/history", params={"max_items": 200}).json()
    ours = [pid for pid in hist if pid in {i["prompt_id"] for i in items}]
    assert len(ours) == 50
    assert "50/50 prompts done" in err


def test_set_by_id_and_title(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(tmp_path),
        "--set", "2.text=a green owl", "--set", "KSampler.steps=3", "--set", "Empty Latent Image.width=72",
    )  # fmt: skip
    assert rc == 0, err
    run_dir = Path(out.strip())
    graph = png_prompt(run_dir / "001_7_0.png")
    assert graph["2"]["inputs"]["text"] == "a green owl"
    assert graph["5"]["inputs"]["steps"] == 3
    assert graph["4"]["inputs"]["width"] == 72
    assert manifest(run_dir)["items"][0]["inputs"] == {"2.text": "a green owl", "5.steps": 3, "4.width": 72}

    rc, _out, err = run_cli(capsys, "run", WF, "--server", comfy_url, "--set", "KSampler.steps=many")
    assert rc == 2
    line = one_error_line(err)
    assert "steps" in line and "integer" in line

    rc, _out, err = run_cli(capsys, "run", WF, "--server", comfy_url, "--set", "KSampler.steps=0")
    assert rc == 2 and "minimum" in one_error_line(err)

    rc, _out, err = run_cli(capsys, "run", WF, "--server", comfy_url, "--set", "Positive.txt=x")
    assert rc == 2 and "no input 'txt'" in one_error_line(err)

    rc, _out, err = run_cli(capsys, "run", WF, "--server", comfy_url, "--set", "Nope.text=x")
    assert rc == 2 and "no node 'Nope'" in one_error_line(err)


def test_prompts_file_with_json_events(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# three prompts\na red fox\n\na blue whale\na yellow tram\n")
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(tmp_path / "out"),
        "--prompts", str(prompts), "--count", "2", "--seed", "7", "--json", "--name", "{i}-{seed}",
    )  # fmt: skip
    assert rc == 0, err
    events = [json.loads(line) for line in out.splitlines()]  # every stdout line is one JSON object
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("submitted") == kinds.count("started") == kinds.count("done") == 6
    assert "progress" in kinds
    end = events[-1]
    assert end["ok"] is True and end["exit_code"] == 0 and end["succeeded"] == 6
    run_dir = Path(end["out_dir"])
    expected = [("a red fox", 7), ("a red fox", 8), ("a blue whale", 7), ("a blue whale", 8)]
    expected += [("a yellow tram", 7), ("a yellow tram", 8)]
    for i, (text, seed) in enumerate(expected, start=1):
        graph = png_prompt(run_dir / f"{i}-{seed}.png")
        assert (graph["2"]["inputs"]["text"], graph["5"]["inputs"]["seed"]) == (text, seed)
    assert err == ""


def test_api_key_is_never_printed_or_saved(
    comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-comfytui-test-" + uuid.uuid4().hex
    monkeypatch.setenv("COMFYTUI_API_KEY", key)
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(tmp_path / "out"), "--json", "--set", "KSampler.steps=2"
    )
    assert rc == 0, err
    assert key not in out + err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in written) and any(p.suffix == ".sqlite3" for p in written)
    for p in written:
        assert key.encode() not in p.read_bytes(), p


def test_ui_format_is_converted_with_a_note(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(capsys, "run", UI_WF, "--server", comfy_url, "--out", str(tmp_path))
    assert rc == 0, err
    assert "converted from UI format" in err
    assert len(list(Path(out.strip()).glob("*.png"))) >= 1


def test_bad_input_is_one_line(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"1": {"class_type": ')
    not_wf = tmp_path / "list.json"
    not_wf.write_text("[1, 2]")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(
        json.dumps({**json.loads(Path(WF).read_text()), "9": {"class_type": "NoSuchNode", "inputs": {}}})
    )
    dangling = json.loads(Path(WF).read_text())
    dangling["6"]["inputs"]["samples"] = ["99", 0]
    dangling_file = tmp_path / "dangling.json"
    dangling_file.write_text(json.dumps(dangling))
    cases = [
        ([str(tmp_path / "missing.json")], 2, "no such file"),
        ([str(bad_json)], 2, "malformed JSON at line 1"),
        ([str(not_wf)], 2, "not a ComfyUI workflow"),
        ([str(tmp_path)], 2, "is a directory"),
        ([str(unknown)], 2, "NoSuchNode"),
        ([str(dangling_file)], 2, "rejected by the server"),
        ([WF, "--seed", "9..1"], 2, "empty"),
        ([WF, "--prompts", str(tmp_path / "nope.txt")], 2, "prompts file not found"),
        ([WF, "--name", "{oops}"], 2, "unknown field"),
        ([WF, "--count", "2", "--seed", "1..3"], 2, "seed range"),
        (["--resume", "no-such-run"], 2, "no run 'no-such-run'"),
        ([], 2, "WORKFLOW"),
    ]
    for args, code, text in cases:
        rc, _out, err = run_cli(capsys, "run", *args, "--server", comfy_url, "--out", str(tmp_path / "out"))
        assert rc == code, (args, err)
        assert text in one_error_line(err), (args, err)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc, _out, err = run_cli(capsys, "run", WF, "--server", comfy_url, "--out", str(blocker / "sub"))
    assert rc == 2 and "cannot create the output folder" in one_error_line(err)
    rc, out, err = run_cli(capsys, "run", str(bad_json), "--server", comfy_url, "--json")
    assert rc == 2 and "malformed JSON" in one_error_line(err)
    event = json.loads(out)  # machines get the error on stdout too
    assert event["event"] == "error" and event["exit_code"] == 2 and "malformed JSON" in event["message"]
    dead = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    rc, _out, err = run_cli(capsys, "run", WF, "--server", dead, "--retries", "3")
    assert rc == 3 and time.monotonic() - t0 > 1.0  # it retried with backoff
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "cannot reach ComfyUI" in lines[-1] and "after 3 attempts" in lines[-1] and "Traceback" not in err
    assert not list((tmp_path / "out").rglob("*"))  # nothing written for any of them


def test_hostile_filename_prefix(comfy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    # The server itself refuses to save outside its output folder: the prompt fails, nothing is written.
    rc, _out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(out_dir), "--set", "7.filename_prefix=../../evil",
    )  # fmt: skip
    assert rc == 1
    assert "1 failed" in err and "outside the output folder" in err
    # A subfolder the server accepts, named with dots and slashes, with a template that uses the server's name.
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(out_dir),
        "--set", "7.filename_prefix=..sub/../..x/../../../e vil", "--name", "../{stem}/../{stem}", "--json",
    )  # fmt: skip
    if rc == 1:  # the server refused this one too; the escape attempt still wrote nothing
        assert not list(tmp_path.rglob("*.png"))
    else:
        assert rc == 0, err
        pngs = list(tmp_path.rglob("*.png"))
        assert pngs and all(p.resolve().is_relative_to(out_dir.resolve()) for p in pngs)
    prefix = "..sub/..x/e vil"
    rc, out, err = run_cli(
        capsys, "run", WF, "--server", comfy_url, "--out", str(out_dir), "--set", f"7.filename_prefix={prefix}",
        "--name", "{stem}", "--json",
    )  # fmt: skip
    assert rc == 0, err
    end = json.loads(out.splitlines()[-1])
    item = manifest(Path(end["out_dir"]))["items"][0]
    assert item["files"][0]["server"]["subfolder"] == "..sub/..x"
    assert item["files"][0]["path"].startswith("e vil_")
    for p in tmp_path.rglob("*"):
        if p.is_file() and p.suffix == ".png":
            assert p.resolve().is_relative_to(out_dir.resolve())
    # `fetch` keeps the server's subfolder, sanitised, inside --out.
    fetch_dir = tmp_path / "fetched"
    rc, out, err = run_cli(capsys, "fetch", item["prompt_id"], "--out", str(fetch_dir), "--server", comfy_url)
    assert rc == 0, err
    saved = [Path(line) for line in out.splitlines()]
    assert len(saved) == 1 and saved[0].is_file()
    assert saved[0].resolve().relative_to(fetch_dir.resolve()).parts[:2] == ("sub", "x")


def _read_events(proc: subprocess.Popen[str], until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Read JSON events from the child's stdout until ``until(events)`` is true."""
    assert proc.stdout is not None
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        events.append(json.loads(line))
        if until(events):
            return events
    raise AssertionError(f"timed out; events so far: {[e['event'] for e in events]}")


@pytest.fixture(scope="module")
def own_server() -> Iterator[ComfyServer]:
    """A server of our own, for the tests that stop and restart it."""
    server = ComfyServer(preview_method="none")
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_resume_after_server_restart(
    own_server: ComfyServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 12
    before = len(list(own_server.output_dir.glob("tiny_*.png")))
    env = {**os.environ, "COMFYTUI_DATA_DIR": str(tmp_path / "data")}
    # 30 steps: the prompt that has just started when the server dies is nowhere near saving its image.
    args = ["run", WF, "--server", own_server.url, "--seed", f"1..{n}", "--set", "KSampler.steps=30"]
    args += ["--out", str(tmp_path / "out"), "--json", "--outage-timeout", "2"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        events = _read_events(
            proc, lambda ev: sum(e["event"] == "done" for e in ev) >= 4 and ev[-1]["event"] == "started"
        )
        own_server.stop()  # a prompt has just started: it dies with the server, as do the queued ones
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    run_id = events[0]["run"]
    assert f"--resume {run_id}" in err and "Traceback" not in err
    done_before = {e["index"] for e in events + [json.loads(x) for x in rest.splitlines()] if e["event"] == "done"}
    assert 4 <= len(done_before) < n
    with Journal(tmp_path / "data" / "runs.sqlite3") as journal:
        states = journal.counts(run_id)
    assert states.get("done") == len(done_before) and sum(states.values()) == n

    own_server.start()
    rc, out, err = run_cli(capsys, "run", "--resume", run_id[:12], "--server", own_server.url)
    assert rc == 0, err
    run_dir = Path(out.strip())
    names = sorted(p.name for p in run_dir.glob("*.png"))
    assert names == [f"{i:03d}_7_0.png" for i in range(1, n + 1)]  # no gap, no duplicate
    m = manifest(run_dir)
    assert m["succeeded"] == n and [i["seed"] for i in m["items"]] == list(range(1, n + 1))
    resubmitted = [i["index"] for i in m["items"] if i["attempts"] > 1]
    assert 1 <= len(resubmitted) <= 3  # the running one and the queued ones (window 3) died with the server
    for item in m["items"]:
        assert png_prompt(run_dir / item["files"][0]["path"])["5"]["inputs"]["seed"] == item["seed"]
    # Nothing ran twice: the server saved exactly one image per prompt over both of its lives.
    assert len(list(own_server.output_dir.glob("tiny_*.png"))) - before == n
    # Resuming a finished run does nothing and succeeds.
    rc, _out, err = run_cli(capsys, "run", "--resume", run_id, "--server", own_server.url)
    assert rc == 0 and f"{n}/{n} prompts done" in err


def test_rides_through_a_restart_and_resumes_after_a_crash(
    own_server: ComfyServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 10
    before = len(list(own_server.output_dir.glob("tiny_*.png")))
    env = {**os.environ, "COMFYTUI_DATA_DIR": str(tmp_path / "data")}
    args = ["run", WF, "--server", own_server.url, "--seed", f"500..{499 + n}", "--set", "KSampler.steps=20"]
    args += ["--out", str(tmp_path / "out"), "--json", "--outage-timeout", "60"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        events = _read_events(
            proc, lambda ev: sum(e["event"] == "done" for e in ev) >= 2 and ev[-1]["event"] == "started"
        )
        own_server.restart()  # the run waits for it, then submits again what the server lost
        events += _read_events(
            proc, lambda ev: sum(e["event"] == "done" for e in ev) >= 3 and ev[-1]["event"] == "submitted"
        )
        proc.kill()  # a crash: prompts it queued keep running on the server, unobserved
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(e["event"] == "note" and "lost by the server" in e["message"] for e in events)
    run_id = events[0]["run"]
    rc, out, err = run_cli(capsys, "run", "--resume", run_id, "--server", own_server.url)
    assert rc == 0, err
    run_dir = Path(out.strip())
    assert sorted(p.name for p in run_dir.glob("*.png")) == [f"{i:03d}_7_0.png" for i in range(1, n + 1)]
    for item in manifest(run_dir)["items"]:
        assert png_prompt(run_dir / item["files"][0]["path"])["5"]["inputs"]["seed"] == item["seed"]
    assert len(list(own_server.output_dir.glob("tiny_*.png"))) - before == n  # nothing ran twice


def test_ctrl_c_removes_pending_prompts(comfy_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "COMFYTUI_DATA_DIR": str(tmp_path / "data")}
    args = ["run", WF, "--server", comfy_url, "--count", "5", "--set", "KSampler.steps=400", "--seed", "random"]
    args += ["--out", str(tmp_path / "out"), "--json", "--window", "3"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        events = _read_events(
            proc,
            lambda ev: any(e["event"] == "started" for e in ev) and sum(e["event"] == "submitted" for e in ev) >= 3,
        )
        ids = [e["prompt_id"] for e in events if e["event"] == "submitted"]
        proc.send_signal(signal.SIGINT)
        _rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "removed 2 pending prompts of this run from the server queue" in err
    assert "interrupted the running one" in err and "--resume" in err and "Traceback" not in err
    with httpx.Client(base_url=comfy_url) as http:
        queue = http.get("/queue").json()
        queued = {item[1] for item in queue["queue_running"] + queue["queue_pending"]}
        assert not queued & set(ids)
        first = http.get(f"/history/{ids[0]}").json()[ids[0]]
        assert first["status"]["completed"] is False  # interrupted, not finished
        assert http.get(f"/history/{ids[1]}").json() == {}  # deleted before it ran
    with Journal(tmp_path / "data" / "runs.sqlite3") as journal:
        run = journal.get_run("last")
        assert run.status == "cancelled"
        assert journal.counts(run.id) == {"cancelled": 3, "planned": 2}
