"""The editor's model: typed edits, changes from the file, problems per input, seeds, server errors, saving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfytui.client.errors import PromptRejected
from comfytui.core.edit_session import EditSession, parse_value, step_warning
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import UnknownNodeClasses, Workflow, WorkflowError

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "workflows" / "tiny_txt2img.json"
UI_DIR = ROOT / "tests" / "data" / "ui_workflows"


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.from_file(ROOT / "tests" / "data" / "object_info.json")


@pytest.fixture
def session(info: ObjectInfo) -> EditSession:
    return EditSession.from_file(TXT2IMG, info)


def field(s: EditSession, node: str, name: str) -> object:
    return next(f for f in s.fields(node) if f.name == name)


def test_fields_follow_input_order_with_specs(session: EditSession) -> None:
    names = [f.name for f in session.fields("5")]
    assert names == ["seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"]
    kinds = {f.name: f.kind for f in session.fields("5")}
    assert kinds["seed"] == "INT" and kinds["cfg"] == "FLOAT" and kinds["sampler_name"] == "COMBO"
    seed = next(f for f in session.fields("5") if f.name == "seed")
    assert seed.seed_mode == "fixed"
    text = next(f for f in session.fields("2") if f.name == "text")
    assert text.multiline
    assert [lf.name for lf in session.link_fields("5")] == ["model", "positive", "negative", "latent_image"]


def test_typed_edits_change_the_graph_and_are_marked(session: EditSession) -> None:
    assert session.set_text("5", "steps", "12") is None
    assert session.set_text("2", "text", "a blue whale") is None
    session.set_value("5", "sampler_name", "dpmpp_2m")
    prompt = session.prompt()
    assert prompt["5"]["inputs"]["steps"] == 12 and prompt["2"]["inputs"]["text"] == "a blue whale"
    steps = next(f for f in session.fields("5") if f.name == "steps")
    assert steps.changed and steps.original == 8
    assert session.node_changed("5") and not session.node_changed("4")
    assert {(c.node_id, c.input_name) for c in session.changes()} == {
        ("5", "steps"),
        ("5", "sampler_name"),
        ("2", "text"),
    }
    session.revert("5", "steps")
    assert not next(f for f in session.fields("5") if f.name == "steps").changed


def test_bad_text_is_kept_aside_with_its_reason(session: EditSession) -> None:
    assert session.set_text("5", "steps", "abc") == "expected an integer, got 'abc'"
    assert session.prompt()["5"]["inputs"]["steps"] == 8  # the graph stays sendable
    steps = next(f for f in session.fields("5") if f.name == "steps")
    assert steps.text_error == "expected an integer, got 'abc'"
    assert [str(p) for p in session.check()] == ["node 5 input 'steps': expected an integer, got 'abc'"]
    assert session.node_has_problems("5")
    session.set_text("5", "steps", "9")
    assert session.check() == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("steps", "0", "0 is smaller than the minimum 1"),
        ("steps", "10001", "10001 is bigger than the maximum 10000"),
        ("cfg", "1e9", "bigger than the maximum 100"),
        ("denoise", "x", "expected a number"),
        ("sampler_name", "eulr", "did you mean 'euler'"),
    ],
)
def test_bounds_and_choices_checked_as_typed(session: EditSession, name: str, text: str, message: str) -> None:
    assert message in (session.set_text("5", name, text) or "")
    assert any(message in p.message and p.input_name == name for p in session.check())


def test_step_is_a_soft_warning(info: ObjectInfo, session: EditSession) -> None:
    spec = info.input("EmptyLatentImage", "width")
    assert step_warning(spec, 64) is None
    assert "multiple of the step 8" in (step_warning(spec, 65) or "")
    session.set_text("4", "width", "65")
    width = next(f for f in session.fields("4") if f.name == "width")
    assert width.warning and not width.problems and session.check() == []


def test_links_are_checked(info: ObjectInfo) -> None:
    wf = Workflow.from_file(TXT2IMG).with_input("5", "model", ["99", 0]).with_input("6", "vae", ["1", 0])
    s = EditSession(wf, info)
    problems = {(p.node_id, p.input_name): p.message for p in s.check()}
    assert "node 99, which is not in the workflow" in problems[("5", "model")]
    assert "expected VAE" in problems[("6", "vae")]
    link = next(lf for lf in s.link_fields("5") if lf.name == "model")
    assert link.problems and "missing" in link.label


def test_seed_controls_apply_after_each_submit(session: EditSession) -> None:
    assert session.after_submit() == []
    session.set_seed_mode("5", "seed", "increment")
    assert session.after_submit() == [("5", "seed", 43)]
    assert session.prompt()["5"]["inputs"]["seed"] == 43
    session.set_seed_mode("5", "seed", "random")
    rolled = {session.after_submit()[0][2] for _ in range(5)}
    assert len(rolled) > 1 and all(0 <= v <= 2**50 for v in rolled)
    with pytest.raises(ValueError):
        session.set_seed_mode("5", "seed", "sometimes")  # type: ignore[arg-type]
    assert not session.is_seed("1", "seed")  # the loader's weights seed is not a sampling seed


def test_server_rejection_lands_on_inputs(session: EditSession) -> None:
    body = {
        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
        "node_errors": {
            "5": {
                "errors": [
                    {
                        "type": "value_not_in_list",
                        "message": "Value not in list",
                        "details": "sampler_name: 'bogus' not in (list of length 42)",
                        "extra_info": {"input_name": "sampler_name"},
                    },
                ],
                "class_type": "KSampler",
            },
            "4": {
                "errors": [
                    {
                        "type": "custom_validation_failed",
                        "message": "Custom validation failed for node",
                        "details": "width - Invalid size",
                        "extra_info": {"input_name": "width"},
                    },
                    {"type": "exception_during_validation", "message": "boom", "details": "", "extra_info": {}},
                ],
                "class_type": "EmptyLatentImage",
            },
        },
    }
    exc = PromptRejected(body)
    session.apply_rejection(exc.node_errors, exc.error)
    sampler = next(f for f in session.fields("5") if f.name == "sampler_name")
    assert sampler.problems == ("server: Value not in list: 'bogus' not in (list of length 42)",)
    width = next(f for f in session.fields("4") if f.name == "width")
    assert width.problems == ("server: Invalid size",)
    assert session.node_problems("4") == ["server: boom"]
    session.set_value("5", "sampler_name", "euler")  # editing the input clears the server's complaint
    assert not next(f for f in session.fields("5") if f.name == "sampler_name").problems


def test_top_level_rejection_message(session: EditSession) -> None:
    exc = PromptRejected({"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": ""}})
    session.apply_rejection(exc.node_errors, exc.error)
    assert session.server_message == "Prompt has no outputs"


def test_unknown_classes_stop_the_editor(info: ObjectInfo) -> None:
    data = json.loads(TXT2IMG.read_text())
    data["9"] = {"class_type": "NoSuchNode", "inputs": {}}
    with pytest.raises(UnknownNodeClasses, match=r"NoSuchNode \(node 9\)"):
        EditSession(Workflow.from_dict(data), info)


def test_ui_format_files_open_converted(info: ObjectInfo) -> None:
    s = EditSession.from_file(UI_DIR / "tiny_plain.ui.json", info)
    expected = json.loads((UI_DIR / "tiny_plain.api.json").read_text())
    assert s.prompt() == Workflow.from_dict(expected).to_api()
    assert "converted from UI format" in s.notes


def test_save_writes_a_new_api_file_only(session: EditSession, tmp_path: Path) -> None:
    session.set_text("5", "steps", "3")
    session.extra_data = {"api_key_comfy_org": "SECRET-KEY"}
    out = session.save(tmp_path / "edited")
    assert out.suffix == ".json"
    data = json.loads(out.read_text())
    assert data["5"]["inputs"]["steps"] == 3 and "SECRET-KEY" not in out.read_text()
    with pytest.raises(WorkflowError, match="already exists"):
        session.save(out)
    with pytest.raises(WorkflowError, match="the file being edited"):
        session.save(TXT2IMG, overwrite=True)
    assert session.suggested_save_path().name == "tiny_txt2img-edited.json"


def test_parse_value_without_spec() -> None:
    assert parse_value(None, "3", 1) == 3
    assert parse_value(None, "hi", "x") == "hi"
    assert parse_value(None, "true", False) is True
    with pytest.raises(ValueError):
        parse_value(None, "x", 1.5)


def test_out_of_range_values_stay_in_the_graph_unparsable_text_does_not(session: EditSession) -> None:
    assert session.set_text("5", "steps", "0") == "0 is smaller than the minimum 1"
    assert session.prompt()["5"]["inputs"]["steps"] == 0  # sent as is if the user insists; the server judges
    session.set_text("5", "cfg", "seven")
    cfg = next(f for f in session.fields("5") if f.name == "cfg")
    assert cfg.text() == "seven" and cfg.value == 7 and cfg.text_error == "expected a number, got 'seven'"
