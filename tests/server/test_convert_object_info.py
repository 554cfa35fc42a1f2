"""The recorded ``tests/data/object_info.json`` matches the real test-bed server.

Re-record with ``COMFYTUI_RECORD=1 pytest tests/server/test_convert_object_info.py``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.server

RECORDED = Path(__file__).resolve().parents[1] / "data" / "object_info.json"


def fetch_object_info(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/object_info", timeout=30) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def test_recorded_object_info_matches_server(comfy_url: str) -> None:
    live = fetch_object_info(comfy_url)
    if os.environ.get("COMFYTUI_RECORD") or not RECORDED.exists():
        RECORDED.write_text(json.dumps(live, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert set(recorded) == set(live), "node classes changed: re-record with COMFYTUI_RECORD=1"
    # (LoadImage is left out: its choices are the files in the server's input folder, which tests add to.)
    for cls in ("KSampler", "CLIPTextEncode", "TinyCheckpointLoader", "SaveImage", "EmptyImage", "ImageScale"):
        assert recorded[cls]["input"] == live[cls]["input"], cls
        assert recorded[cls]["input_order"] == live[cls]["input_order"], cls
