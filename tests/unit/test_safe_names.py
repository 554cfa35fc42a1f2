"""Names that come from a server never put a file outside the destination folder."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from comfytui import cli
from comfytui.batch.engine import BatchEngine, EngineOptions
from comfytui.batch.names import (
    UnsafePath,
    check_template,
    contained,
    render_name,
    safe_component,
    safe_ext,
    safe_relpath,
    write_atomic,
)
from comfytui.client.models import OutputFile
from comfytui.store.journal import ItemRecord, Journal, RunRecord

HOSTILE = [
    ("", "../../evil.png"),
    ("../..", "evil.png"),
    ("/etc", "passwd"),
    ("a/../../..", "x.png"),
    ("..\\..\\win", "..\\evil.png"),
    ("", "/abs/evil.png"),
    ("ok", "nul\x00byte.png"),
    ("", ".."),
    ("", "."),
    ("....//....//", "....//evil.png"),
    ("sub", "CON.png"),
]


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("subfolder", "filename"), HOSTILE)
def test_safe_relpath_stays_relative(subfolder: str, filename: str) -> None:
    rel = safe_relpath(subfolder, filename)
    assert not rel.is_absolute()
    assert all(part not in ("", ".", "..") and "/" not in part and "\\" not in part for part in rel.parts)
    assert "\x00" not in str(rel)


@pytest.mark.parametrize(("subfolder", "filename"), HOSTILE)
def test_write_atomic_never_escapes(tmp_path: Path, subfolder: str, filename: str) -> None:
    dest = tmp_path / "dest"
    path = write_atomic(dest, safe_relpath(subfolder, filename), b"x")
    assert path.is_relative_to(dest.resolve())
    assert _all_files(tmp_path) == [path]


def test_examples() -> None:
    assert safe_relpath("", "../../evil.png") == PurePosixPath("_.._evil.png")
    assert safe_relpath("../../etc", "passwd") == PurePosixPath("etc/passwd")
    assert safe_relpath("/abs/dir", "x.png") == PurePosixPath("abs/dir/x.png")
    assert safe_component("CON.png") == "_CON.png"
    assert safe_component("..") == "file"
    assert safe_component("a\nb\tc") == "a_b_c"
    assert safe_component("  .hidden ") == "hidden"
    long = safe_component("x" * 500 + ".png")
    assert long.endswith(".png") and len(long.encode()) <= 180
    assert safe_ext("a.PNG") == ".png"
    assert safe_ext("a.tar.gz") == ".gz"
    assert safe_ext("noext") == ".png"
    assert safe_ext("a.p/ng") == ".png"


def test_contained_rejects_escapes(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(UnsafePath):
            contained(tmp_path, bad)
    assert contained(tmp_path, "a/b.png") == tmp_path.resolve() / "a" / "b.png"


def test_symlink_pointing_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath):
        write_atomic(dest, PurePosixPath("link/evil.png"), b"x")
    assert not any(outside.iterdir())


def test_render_name_sanitises_every_field() -> None:
    fields = {"index": "007", "i": 7, "node": "../9", "n": 0, "stem": "../../evil", "prompt_id": "p/q", "run": "r"}
    assert render_name("{index}_{node}_{n}", fields, ".png") == PurePosixPath("007__9_0.png")
    assert render_name("{stem}", fields, ".png") == PurePosixPath("_.._evil.png")
    assert render_name("../../{stem}/{index}", fields, ".webp") == PurePosixPath("_.._evil/007.webp")
    assert render_name("/abs/{i:04d}.{ext}", {**fields, "ext": "png"}, ".png") == PurePosixPath("abs/0007.png")
    assert render_name("{prompt_id}", fields, ".png") == PurePosixPath("p_q.png")


@pytest.mark.parametrize("template", ["{nope}", "{index.__class__}", "{index[0]}", "{index!r}", "{i:{n}}"])
def test_bad_templates(template: str) -> None:
    with pytest.raises(ValueError):
        check_template(template)


# --- the engine's download path, with outputs as a hostile server would name them -----------------------------


class FakeClient:
    """Only what `_download` uses."""

    def __init__(self) -> None:
        self.asked: list[OutputFile] = []

    async def view(self, f: OutputFile) -> bytes:
        self.asked.append(f)
        return b"PNG:" + f.filename.encode()


@pytest.mark.parametrize("template", ["{index}_{node}_{n}", "{stem}", "{node}/{stem}.{ext}", "../{prompt_id}"])
def test_engine_download_with_hostile_outputs(tmp_path: Path, template: str) -> None:
    out = tmp_path / "out" / "run1"
    journal = Journal(tmp_path / "j.sqlite3")
    run = RunRecord(id="run1", workflow="wf.json", server="http://x", client_id="c", out_dir=str(out))
    outputs = [{"node": "../7", "filename": f, "subfolder": s, "type": "output"} for s, f in HOSTILE]
    journal.create_run(run, [ItemRecord(index=1, prompt_id="p1", graph={}, status="executed", outputs=outputs)])
    engine = BatchEngine(journal, run, "http://x", EngineOptions(name_template=template))
    engine._load()
    fake = FakeClient()
    engine.client = fake  # type: ignore[assignment]
    asyncio.run(engine._download(1))
    item = journal.item("run1", 1)
    assert item is not None and item.status == "done"
    files = _all_files(tmp_path / "out")
    assert len(files) == len(HOSTILE) == len(set(item.files))
    for f in files:
        assert f.resolve().is_relative_to(out.resolve())
    assert len(fake.asked) == len(HOSTILE)
    journal.close()


# --- `comfytui fetch` against a stub server that sends hostile names ------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    history: ClassVar[dict[str, Any]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/history/"):
            body = json.dumps(self.history).encode()
            ctype = "application/json"
        elif url.path == "/view":
            q = parse_qs(url.query)
            body = ("data:" + q.get("filename", [""])[0]).encode()
            ctype = "image/png"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def hostile_server() -> Iterator[str]:
    images = [{"filename": f, "subfolder": s, "type": "output"} for s, f in HOSTILE]
    _Handler.history = {
        "p1": {
            "prompt": [1, "p1", {}, {}, ["7"]],
            "outputs": {"7": {"images": images}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_with_hostile_names(tmp_path: Path, hostile_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "a" / "b" / "dest"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc = cli.main(["fetch", "p1", "--out", str(dest), "--server", hostile_server, "--json"])
    finally:
        os.chdir(cwd)
    assert rc == 0, capsys.readouterr().err
    saved = json.loads(capsys.readouterr().out)["files"]
    assert len(saved) == len(HOSTILE)
    files = _all_files(tmp_path)
    assert len(files) == len(HOSTILE)
    for f in files:
        assert f.resolve().is_relative_to(dest.resolve()), f
