"""Workflow: loading, addressing nodes, overrides, seeds, prompts, validation and diffs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import (
    NeedsConversion,
    Problem,
    Workflow,
    WorkflowError,
    detect_format,
    is_link,
    load_any,
)

DATA = Path(__file__).resolve().parents[1] / "data"
UI_DIR = DATA / "ui_workflows"


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.from_file(DATA / "object_info.json")


@pytest.fixture()
def api() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((UI_DIR / "tiny_plain.api.json").read_text())
    return data


@pytest.fixture()
def wf(api: dict[str, Any]) -> Workflow:
    return Workflow.from_dict(api)


# --- loading -----------------------------------------------------------------------------------------------


def test_from_file_and_round_trip(tmp_path: Path, api: dict[str, Any]) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(api))
    wf = Workflow.from_file(path)
    assert wf.to_api() == api
    assert Workflow.from_json(wf.to_json()) == wf
    assert wf.source == str(path)


def test_to_api_is_a_deep_copy(wf: Workflow) -> None:
    out = wf.to_api()
    out["5"]["inputs"]["steps"] = 99
    assert wf.get_input("5", "steps") == 8


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "1": {"class_type": "X",\n  "inputs": {}\n')
    with pytest.raises(WorkflowError) as exc:
        Workflow.from_file(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: malformed JSON at line ")
    assert "column" in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[1, 2]", "not a ComfyUI workflow"),
        ('"hello"', "not a ComfyUI workflow"),
        ("{}", "empty workflow"),
        ('{"1": {"class_type": "KSampler"}, "2": {"inputs": {}}}', "entry '2' has no class_type"),
        ("   ", "empty file"),
    ],
)
def test_not_a_workflow(text: str, needle: str) -> None:
    with pytest.raises(WorkflowError, match=needle):
        Workflow.from_json(text)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="no such file"):
        Workflow.from_file(tmp_path / "nope.json")
    with pytest.raises(WorkflowError, match="is a directory"):
        Workflow.from_file(tmp_path)


def test_ui_format_needs_conversion() -> None:
    ui = json.loads((UI_DIR / "tiny_full.ui.json").read_text())
    assert detect_format(ui) == "ui"
    with pytest.raises(NeedsConversion) as exc:
        Workflow.from_dict(ui)
    assert exc.value.ui is ui
    assert isinstance(exc.value, WorkflowError)


def test_prompt_body_is_unwrapped(api: dict[str, Any]) -> None:
    wf = Workflow.from_dict({"prompt": api, "client_id": "x"})
    assert wf.to_api() == api


def test_links_get_string_ids() -> None:
    wf = Workflow.from_dict({"1": {"class_type": "A", "inputs": {}}, "2": {"class_type": "B", "inputs": {"x": [1, 0]}}})
    assert wf.get_input("2", "x") == ["1", 0]
    assert is_link(["1", 0]) and not is_link([1.5, 0]) and not is_link(["1", 0, 2]) and not is_link(["a", True])


def test_load_any(tmp_path: Path, api: dict[str, Any], info: ObjectInfo) -> None:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(api))
    wf, notes = load_any(path)
    assert wf.to_api() == api and notes == []
    wf2, _ = load_any(json.dumps(api))
    assert wf2 == wf
    wf3, _ = load_any(api)
    assert wf3 == wf
    ui_path = UI_DIR / "tiny_full.ui.json"
    with pytest.raises(NeedsConversion):
        load_any(ui_path)
    converted, notes = load_any(str(ui_path), info)
    assert notes[0] == "converted from UI format"
    assert converted.to_api() == json.loads((UI_DIR / "tiny_full.api.json").read_text())


# --- reading -----------------------------------------------------------------------------------------------


def test_node_ids_natural_order() -> None:
    wf = Workflow.from_dict({k: {"class_type": "X", "inputs": {}} for k in ("10", "2", "5:3", "5", "1")})
    assert wf.node_ids() == ["1", "2", "5", "5:3", "10"]


def test_titles_and_classes(wf: Workflow) -> None:
    assert wf.title("2") == "Positive"
    assert wf.class_type("2") == "CLIPTextEncode"
    bare = Workflow.from_dict({"1": {"class_type": "KSampler", "inputs": {}}})
    assert bare.title("1") == "KSampler"
    assert wf.widget_inputs("5")["steps"] == 8
    assert wf.link_inputs("5")["model"] == ["1", 0]
    assert ("6", "samples", 0) in wf.consumers("5")


def test_node_list_and_editable_inputs(wf: Workflow, info: ObjectInfo) -> None:
    assert wf.node_list()[:2] == [
        ("1", "Tiny Checkpoint Loader (comfytui)", "TinyCheckpointLoader"),
        ("2", "Positive", "CLIPTextEncode"),
    ]
    rows = wf.editable_inputs("5", info)
    assert [(name, value) for name, value, _ in rows] == [
        ("seed", 42),
        ("steps", 8),
        ("cfg", 7),
        ("sampler_name", "euler"),
        ("scheduler", "normal"),
        ("denoise", 1),
    ]
    assert rows[3][2] is not None and rows[3][2].kind == "COMBO"
    api = wf.to_api()
    del api["5"]["inputs"]["denoise"]
    api["5"]["inputs"]["extra"] = "x"
    rows = Workflow.from_dict(api).editable_inputs("5", info)
    assert rows[-2][:2] == ("denoise", 1.0) and rows[-1] == ("extra", "x", None)
    assert [n for n, _, _ in wf.editable_inputs("5")] == [
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "denoise",
    ]


def test_find_node(wf: Workflow) -> None:
    assert wf.find_node("5") == "5"
    assert wf.find_node("positive") == "2"
    assert wf.find_node("  Negative ") == "3"
    assert wf.find_node("vaedecode") == "6"  # class type when no title matches
    with pytest.raises(WorkflowError, match="no node 'Sampler'"):
        wf.find_node("Sampler")


def test_find_node_ambiguous(wf: Workflow) -> None:
    dup = wf.with_title("3", "Positive")
    with pytest.raises(WorkflowError, match=r"matches several nodes by title: 2 \(Positive\), 3 \(Positive\)"):
        dup.find_node("positive")
    with pytest.raises(WorkflowError, match="several nodes by class"):
        wf.find_node("CLIPTextEncode")


def test_with_input_returns_a_new_workflow(wf: Workflow) -> None:
    new = wf.with_input("5", "steps", 20)
    assert new.get_input("5", "steps") == 20
    assert wf.get_input("5", "steps") == 8
    assert new != wf
    with pytest.raises(WorkflowError, match="no input 'nope'"):
        wf.get_input("5", "nope")
    with pytest.raises(WorkflowError, match="no node '99'"):
        wf.with_input("99", "steps", 1)


# --- overrides ---------------------------------------------------------------------------------------------


def test_overrides_by_id_and_title(wf: Workflow, info: ObjectInfo) -> None:
    new = wf.apply_overrides(["5.steps=20", "Positive.text=a cat = a dog. really", "KSampler.cfg=6.5"], info)
    assert new.get_input("5", "steps") == 20
    assert new.get_input("2", "text") == "a cat = a dog. really"
    assert new.get_input("5", "cfg") == 6.5
    assert new.get_input("5", "sampler_name") == "euler"


def test_override_titles_with_dots_spaces_and_equals(wf: Workflow, info: ObjectInfo) -> None:
    wf2 = wf.with_title("2", "v1.5 main prompt").with_title("3", "a=b")
    new = wf2.apply_overrides(["v1.5 main prompt.text=hello", "a=b.text=x=y"], info)
    assert new.get_input("2", "text") == "hello"
    assert new.get_input("3", "text") == "x=y"


def test_override_type_errors(wf: Workflow, info: ObjectInfo) -> None:
    cases = {
        "5.steps=many": "expected an integer",
        "5.steps=0": "smaller than the minimum 1",
        "5.denoise=1.5": "bigger than the maximum 1",
        "5.sampler_name=eulr": "did you mean 'euler'",
        "5.model=x": "linked to node 1",
        "Sampler.steps=1": "no node 'Sampler'",
        "5.stepz=3": "has no input 'stepz'",
        "5steps=3": "expected NODE.INPUT",
        "5.steps": "expected NODE.INPUT=VALUE",
    }
    for text, needle in cases.items():
        with pytest.raises(WorkflowError, match=needle) as exc:
            wf.apply_overrides([text], info)
        assert "\n" not in str(exc.value)


def test_override_sets_a_known_but_absent_input(wf: Workflow, info: ObjectInfo) -> None:
    trimmed = Workflow.from_dict({k: v for k, v in wf.to_api().items()})
    api = trimmed.to_api()
    del api["5"]["inputs"]["denoise"]
    new = Workflow.from_dict(api).apply_overrides(["5.denoise=0.5"], info)
    assert new.get_input("5", "denoise") == 0.5


def test_overrides_without_info_follow_current_types(wf: Workflow) -> None:
    new = wf.apply_overrides(["5.steps=12", "5.cfg=3", "Positive.text=42", "5.denoise=0.5"])
    assert new.get_input("5", "steps") == 12
    assert new.get_input("5", "cfg") == 3  # the file had an int
    assert new.get_input("2", "text") == "42"
    assert new.get_input("5", "denoise") == 0.5
    with pytest.raises(WorkflowError, match="expected an integer"):
        wf.apply_overrides(["5.steps=lots"])
    with pytest.raises(WorkflowError, match="linked to node 1"):
        wf.apply_overrides(["5.model=3"])


def test_no_overrides_is_identity(wf: Workflow) -> None:
    assert wf.apply_overrides([]) is wf


# --- seeds and prompts -------------------------------------------------------------------------------------


def test_seed_inputs_skip_loader_weights_seeds(wf: Workflow, info: ObjectInfo) -> None:
    assert wf.seed_inputs(info) == [("5", "seed")]
    assert wf.seed_inputs() == [("5", "seed")]
    seeded = wf.with_seed(7, info)
    assert seeded.get_input("5", "seed") == 7
    assert seeded.get_input("1", "seed") == 0
    assert seeded.seeds(info) == {("5", "seed"): 7}


def test_seed_inputs_other_samplers(info: ObjectInfo) -> None:
    wf = Workflow.from_dict(
        {
            "1": {"class_type": "KSamplerAdvanced", "inputs": {"noise_seed": 1, "steps": 3}},
            "2": {"class_type": "RandomNoise", "inputs": {"noise_seed": 5}},
            "3": {"class_type": "ImageAddNoise", "inputs": {"seed": ["9", 0], "strength": 0.5}},
            "4": {"class_type": "PrimitiveInt", "inputs": {"value": 3}},
            "5": {"class_type": "ImageAddNoise", "inputs": {"seed": ["4", 0], "strength": 0.5}},
            "6": {"class_type": "PrimitiveInt", "inputs": {"value": 40}},
            "7": {"class_type": "ImageScale", "inputs": {"width": ["6", 0]}},
        }
    )
    assert wf.seed_inputs(info) == [("1", "noise_seed"), ("2", "noise_seed"), ("4", "value")]
    assert wf.with_seed(2**70, info).get_input("1", "noise_seed") == 2**70 % 2**64


def test_text_inputs_prefers_positive(wf: Workflow, info: ObjectInfo) -> None:
    assert wf.text_inputs(info)[0] == ("2", "text")
    assert wf.text_inputs()[0] == ("2", "text")
    untitled = wf.with_title("2", "").with_title("3", "")
    api = untitled.to_api()
    api["5"]["inputs"]["positive"], api["5"]["inputs"]["negative"] = ["3", 0], ["2", 0]
    swapped = Workflow.from_dict(api)
    assert swapped.text_inputs(info) == [("3", "text"), ("2", "text")]


# --- validation --------------------------------------------------------------------------------------------


def test_valid_workflow_has_no_problems(wf: Workflow, info: ObjectInfo) -> None:
    assert wf.validate(info) == []


def _problems(api: dict[str, Any], info: ObjectInfo) -> set[tuple[str, str | None]]:
    return {(p.node_id, p.input_name) for p in Workflow.from_dict(api).validate(info)}


def test_validate_finds_each_kind(api: dict[str, Any], info: ObjectInfo) -> None:
    bad = copy.deepcopy(api)
    bad["5"]["inputs"]["steps"] = 0
    bad["5"]["inputs"]["sampler_name"] = "nope"
    bad["5"]["inputs"]["cfg"] = "high"
    bad["5"]["inputs"]["positive"] = ["42", 0]
    bad["5"]["inputs"]["negative"] = ["3", 5]
    bad["5"]["inputs"]["latent_image"] = ["1", 0]
    del bad["5"]["inputs"]["denoise"]
    bad["6"]["inputs"]["vae"] = "a value"
    bad["8"] = {"class_type": "NoSuchNode", "inputs": {}}
    problems = Workflow.from_dict(bad).validate(info)
    by_key = {(p.node_id, p.input_name): p.message for p in problems}
    assert "smaller than the minimum" in by_key[("5", "steps")]
    assert "not one of the choices" in by_key[("5", "sampler_name")]
    assert "expected a number" in by_key[("5", "cfg")]
    assert "node 42, which is not in the workflow" in by_key[("5", "positive")]
    assert "output 5 of node 3 (Negative), which has 1 output(s)" in by_key[("5", "negative")]
    latent = by_key[("5", "latent_image")]
    assert "MODEL output of node 1" in latent and "expected LATENT" in latent
    assert by_key[("5", "denoise")] == "required input is missing"
    assert "needs a link from a VAE output" in by_key[("6", "vae")]
    assert "unknown node class 'NoSuchNode'" in by_key[("8", None)]
    assert str(Problem("5", "steps", "x")) == "node 5 input 'steps': x"


def test_validate_no_output_node(api: dict[str, Any], info: ObjectInfo) -> None:
    del api["7"]
    assert ("", None) in _problems(api, info)


def test_validate_accepts_wrapped_list_values(info: ObjectInfo) -> None:
    wf = Workflow.from_dict(
        {
            "1": {"class_type": "CLIPTextEncode", "inputs": {"text": {"__value__": ["a"]}, "clip": ["2", 1]}},
            "2": {"class_type": "TinyCheckpointLoader", "inputs": {"seed": 0}},
        }
    )
    by_key = {(p.node_id, p.input_name): p.message for p in wf.validate(info)}
    assert by_key[("1", "text")].startswith("expected text")


# --- diff --------------------------------------------------------------------------------------------------


def test_diff(wf: Workflow) -> None:
    new = wf.apply_overrides(["5.steps=20", "Positive.text=cat"])
    api = new.to_api()
    del api["7"]
    api["9"] = {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}}
    del api["5"]["inputs"]["denoise"]
    changes = wf.diff(Workflow.from_dict(api))
    assert [tuple(c) for c in changes] == [
        ("2", "text", "a red fox in the snow", "cat"),
        ("5", "steps", 8, 20),
        ("5", "denoise", 1, None),
        ("7", "class_type", "SaveImage", None),
        ("9", "class_type", None, "PreviewImage"),
    ]
    assert wf.diff(wf) == []


# --- PNG files saved by ComfyUI ----------------------------------------------------------------------------


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = b"".join(chunk(k, d) for k, d in chunks)
    idat = zlib.compress(b"\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_png_prompt_chunk(tmp_path: Path, api: dict[str, Any]) -> None:
    path = tmp_path / "out.png"
    ui = (UI_DIR / "tiny_full.ui.json").read_text()
    path.write_bytes(_png([(b"tEXt", b"prompt\0" + json.dumps(api).encode()), (b"tEXt", b"workflow\0" + ui.encode())]))
    wf, notes = load_any(path)
    assert wf.to_api() == api and notes == ["read the prompt embedded in the PNG"]
    assert Workflow.from_file(path).to_api() == api


def test_png_workflow_chunk_only(tmp_path: Path, info: ObjectInfo) -> None:
    import zlib

    ui = (UI_DIR / "tiny_full.ui.json").read_bytes()
    path = tmp_path / "ui.png"
    path.write_bytes(_png([(b"iTXt", b"workflow\0\x01\x00\0\0" + zlib.compress(ui))]))
    with pytest.raises(NeedsConversion):
        load_any(path)
    wf, notes = load_any(path, info)
    assert notes[:2] == ["read the workflow in the PNG", "converted from UI format"]
    assert wf.to_api() == json.loads((UI_DIR / "tiny_full.api.json").read_text())


def test_png_without_workflow_and_binary_files(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(_png([]))
    with pytest.raises(WorkflowError, match="carries no ComfyUI workflow"):
        load_any(path)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WorkflowError, match="not a text file"):
        Workflow.from_file(junk)
