"""`comfytui convert` offline (``--object-info``): stdin, PNGs, errors as one line."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest

from comfytui.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
UI_DIR = DATA / "ui_workflows"
OBJECT_INFO = str(DATA / "object_info.json")


def _png_with(key: str, text: str) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"tEXt", key.encode() + b"\0" + text.encode("latin-1"))
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((UI_DIR / "stock_image.ui.json").read_text()))
    assert main(["convert", "-", "--object-info", OBJECT_INFO]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == json.loads((UI_DIR / "stock_image.api.json").read_text())
    assert err == ""


def test_png_workflow_chunk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "ComfyUI_00001_.png"
    png.write_bytes(_png_with("workflow", (UI_DIR / "tiny_full.ui.json").read_text()))
    assert main(["convert", str(png), "--object-info", OBJECT_INFO]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == json.loads((UI_DIR / "tiny_full.api.json").read_text())
    assert err == "comfytui convert: read the workflow in the PNG\n"


def test_unknown_class_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ui = json.loads((UI_DIR / "stock_image.ui.json").read_text())
    ui["nodes"][0]["type"] = "EmptyImagePlus"
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(ui))
    assert main(["convert", str(path), "--object-info", OBJECT_INFO]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("comfytui convert: unknown node class (not installed on the server?): EmptyImagePlus (node 1)\n")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty file"),
        ("[1, 2]", "not a ComfyUI workflow"),
        ('{"nodes": [', "malformed JSON at line 1, column 12"),
    ],
)
def test_bad_inputs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["convert", str(path), "--object-info", OBJECT_INFO]) == 2
    _, err = capsys.readouterr()
    assert needle in err and err.count("\n") == 1


def test_bad_object_info_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "oi.json"
    bad.write_text("[]")
    assert main(["convert", str(UI_DIR / "tiny_full.ui.json"), "--object-info", str(bad)]) == 2
    _, err = capsys.readouterr()
    assert "not an /object_info dump" in err


def test_problems_are_warnings_and_check_makes_them_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ui = json.loads((UI_DIR / "tiny_plain.ui.json").read_text())
    ui["nodes"][4]["widgets_values"][2] = 0  # KSampler steps below the minimum
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(ui))
    assert main(["convert", str(path), "--object-info", OBJECT_INFO]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["5"]["inputs"]["steps"] == 0
    assert err == "comfytui convert: warning: node 5 input 'steps': 0 is smaller than the minimum 1\n"
    assert main(["convert", str(path), "--object-info", OBJECT_INFO, "--check"]) == 1
    _, err = capsys.readouterr()
    assert err == "comfytui convert: error: node 5 input 'steps': 0 is smaller than the minimum 1\n"


def test_check_an_api_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = json.loads((UI_DIR / "tiny_plain.api.json").read_text())
    api["5"]["inputs"]["sampler_name"] = "eulerr"
    path = tmp_path / "api.json"
    path.write_text(json.dumps(api))
    assert main(["convert", str(path), "--object-info", OBJECT_INFO, "--check"]) == 1
    _, err = capsys.readouterr()
    assert "error: node 5 input 'sampler_name': 'eulerr' is not one of the choices (did you mean 'euler'" in err
