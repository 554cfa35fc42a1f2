"""Every workflow template bundled with ComfyUI 0.3.75 (saved by the real frontend) converts cleanly.

The templates come with the test bed's venv (``comfyui_workflow_templates*``); the test is skipped without it.
Checked against the recorded catalogue: no leftover widget values, and no problem other than model/file names the
test bed does not have. (Submitted to the real server by hand, the same conversions fail only on missing files.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfytui import testbed
from comfytui.core.convert import convert_ui
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import UnknownNodeClasses, Workflow, detect_format

DATA = Path(__file__).resolve().parents[1] / "data"
# Saved with older versions of these nodes (different inputs): the frontend mis-maps them too.
KNOWN_STALE = {"api_moonvalley_video_to_video_motion_transfer.json", "api_moonvalley_video_to_video_pose_control.json"}


def _templates() -> list[Path]:
    site = testbed.install_dir() / "venv" / "lib"
    return sorted(site.glob("python3*/site-packages/comfyui_workflow_templates*/templates/*.json"))


TEMPLATES = _templates()


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.from_file(DATA / "object_info.json")


@pytest.mark.skipif(not TEMPLATES, reason="ComfyUI's workflow templates are not installed (python -m comfytui.testbed)")
def test_bundled_templates_convert(info: ObjectInfo) -> None:
    converted = unknown = 0
    failures: list[str] = []
    for path in TEMPLATES:
        data = json.loads(path.read_text(encoding="utf-8"))
        if detect_format(data) != "ui":
            continue
        try:
            result = convert_ui(data, info)
        except UnknownNodeClasses:
            unknown += 1  # audio and custom nodes newer than 0.3.75
            continue
        converted += 1
        failures += [f"{path.name}: {note}" for note in result.notes]
        if path.name in KNOWN_STALE:
            continue
        for p in Workflow.from_dict(result.prompt).validate(info):
            cls = result.prompt.get(p.node_id, {}).get("class_type", "")
            spec = info[cls].input(p.input_name) if cls in info and p.input_name else None
            model_name = spec is not None and spec.kind == "COMBO" and len(spec.options or ()) <= 1
            if not model_name:
                failures.append(f"{path.name}: {p} ({cls})")
    assert converted >= 150, (converted, unknown)
    assert failures == []
