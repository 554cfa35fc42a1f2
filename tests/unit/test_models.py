"""Typed views of server JSON (models.py) and validation errors (errors.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from comfytui.client.errors import InputError, PromptRejected, ServerError, ServerUnreachable, parse_node_errors
from comfytui.client.http import ComfyClient, auth_header, normalize_base_url, split_credentials
from comfytui.client.models import (
    HistoryEntry,
    OutputFile,
    QueueItem,
    QueueSnapshot,
    SubmitResult,
    SystemStats,
)
from comfytui.client.ws import backoff_delay, ws_url

PID = "4f0cf130-57bf-498b-b739-9a985ae71a6a"
PROMPT: dict[str, Any] = {
    "1": {"class_type": "TinyCheckpointLoader", "inputs": {"seed": 0}},
    "5": {"class_type": "KSampler", "inputs": {"steps": 8}},
    "7": {"class_type": "SaveImage", "inputs": {"filename_prefix": "tiny"}},
}

# Recorded from ComfyUI 0.3.75 (prompt trimmed).
SUCCESS: dict[str, Any] = {
    "prompt": [0, PID, PROMPT, {"client_id": "0cf6", "create_time": 1795436168996}, ["7"]],
    "outputs": {"7": {"images": [{"filename": "tiny_00001_.png", "subfolder": "", "type": "output"}]}},
    "status": {
        "status_str": "success",
        "completed": True,
        "messages": [
            ["execution_start", {"prompt_id": PID, "timestamp": 1795436168996}],
            ["execution_cached", {"nodes": [], "prompt_id": PID, "timestamp": 1795436168998}],
            ["execution_success", {"prompt_id": PID, "timestamp": 1795436169268}],
        ],
    },
    "meta": {"7": {"node_id": "7", "display_node": "7", "parent_node": None, "real_node_id": "7"}},
}


def with_messages(messages: list[Any], status_str: str = "error", completed: bool = False) -> dict[str, Any]:
    raw = copy.deepcopy(SUCCESS)
    raw["status"] = {"status_str": status_str, "completed": completed, "messages": messages}
    return raw


# --- queue ------------------------------------------------------------------------------


def test_queue_item_from_raw() -> None:
    item = QueueItem.from_raw([3, PID, PROMPT, {"client_id": "abc", "create_time": 12}, ["7"]])
    assert item.number == 3 and item.prompt_id == PID and item.prompt == PROMPT
    assert item.client_id == "abc" and item.create_time == 12 and item.outputs_to_execute == ["7"]


def test_queue_item_without_client_id() -> None:
    assert QueueItem.from_raw([0, PID, {}, {}, []]).client_id is None


@pytest.mark.parametrize("raw", [None, [], [1], "abc", 5, {"a": 1}, [None, None, None, None, None], ["x", 1, 2, 3, 4]])
def test_queue_item_odd_input(raw: Any) -> None:
    item = QueueItem.from_raw(raw)
    assert isinstance(item.prompt, dict) and isinstance(item.extra_data, dict)
    assert isinstance(item.outputs_to_execute, list)


def test_queue_snapshot_sorts_pending_heap() -> None:
    raw = {
        "queue_running": [[2, "run", {}, {}, []]],
        "queue_pending": [[5, "b", {}, {}, []], [-7, "front", {}, {}, []], [5, "a", {}, {}, []], [3, "c", {}, {}, []]],
    }
    snap = QueueSnapshot.from_raw(raw)
    assert [i.prompt_id for i in snap.pending] == ["front", "c", "a", "b"]
    assert snap.running_id == "run" and len(snap) == 5 and "a" in snap and "zzz" not in snap


@pytest.mark.parametrize("raw", [None, {}, [], {"queue_running": 5, "queue_pending": "x"}])
def test_queue_snapshot_odd_input(raw: Any) -> None:
    snap = QueueSnapshot.from_raw(raw)
    assert snap.running == [] and snap.pending == [] and snap.running_id is None


# --- history ---------------------------------------------------------------------------------


def test_history_success() -> None:
    h = HistoryEntry.from_raw(PID, SUCCESS)
    assert h.prompt_id == PID and h.number == 0 and h.prompt == PROMPT and h.client_id == "0cf6"
    assert h.status_str == "success" and h.completed
    assert h.images == [("7", OutputFile("tiny_00001_.png", "", "output"))]
    assert h.files == [("7", "images", OutputFile("tiny_00001_.png", "", "output"))]
    assert h.start_time == 1795436168996 and h.end_time == 1795436169268
    assert h.duration == pytest.approx(0.272)
    assert h.outcome == "success" and h.error is None and not h.interrupted and h.cached_nodes == []
    assert [m[0] for m in h.messages] == ["execution_start", "execution_cached", "execution_success"]


def test_history_fully_cached() -> None:
    raw = with_messages(
        [
            ["execution_start", {"timestamp": 10}],
            ["execution_cached", {"nodes": ["1", "5", "7"], "timestamp": 10}],
            ["execution_success", {"timestamp": 12}],
        ],
        "success",
        True,
    )
    h = HistoryEntry.from_raw(PID, raw)
    assert h.outcome == "cached" and h.cached_nodes == ["1", "5", "7"] and h.duration == pytest.approx(0.002)


def test_history_partly_cached_is_success() -> None:
    raw = with_messages(
        [["execution_cached", {"nodes": ["1"]}], ["execution_success", {"timestamp": 12}]], "success", True
    )
    assert HistoryEntry.from_raw(PID, raw).outcome == "success"


def test_history_interrupted() -> None:
    raw = with_messages(
        [
            ["execution_start", {"prompt_id": PID, "timestamp": 100}],
            ["execution_cached", {"nodes": [], "prompt_id": PID, "timestamp": 100}],
            [
                "execution_interrupted",
                {"prompt_id": PID, "node_id": "5", "node_type": "KSampler", "executed": ["1"], "timestamp": 1600},
            ],
        ]
    )
    h = HistoryEntry.from_raw(PID, raw)
    assert h.outcome == "interrupted" and h.interrupted and h.error is None
    assert h.end_time == 1600 and h.duration == pytest.approx(1.5) and not h.completed


def test_history_failed() -> None:
    data = {"prompt_id": PID, "node_id": "5", "exception_message": "boom", "exception_type": "RuntimeError"}
    raw = with_messages([["execution_start", {"timestamp": 1}], ["execution_error", {**data, "timestamp": 3}]])
    h = HistoryEntry.from_raw(PID, raw)
    assert h.outcome == "failed" and h.error is not None and h.error["exception_message"] == "boom"
    assert h.end_time == 3


def test_history_error_status_without_messages() -> None:
    assert HistoryEntry.from_raw(PID, with_messages([])).outcome == "failed"
    assert HistoryEntry.from_raw(PID, {}).outcome == "unknown"


def test_history_other_outputs() -> None:
    raw = copy.deepcopy(SUCCESS)
    raw["outputs"] = {
        "9": {"gifs": [{"filename": "a.mp4", "subfolder": "v", "type": "output", "format": "video/h264-mp4"}]},
        "10": {"text": ["hello"], "images": [{"filename": "p.png", "subfolder": "", "type": "temp"}, "junk"]},
        "11": "junk",
    }
    h = HistoryEntry.from_raw(PID, raw)
    assert h.images == [("10", OutputFile("p.png", "", "temp"))]
    assert ("9", "gifs", OutputFile("a.mp4", "v", "output")) in h.files
    assert "11" not in h.outputs


@pytest.mark.parametrize(
    "raw",
    [
        None,
        5,
        [],
        {"prompt": "x", "outputs": [], "status": 3},
        {"status": {"messages": "abc"}},
        {"status": {"messages": [5, [], ["only"], [1, {}], ["execution_start", 5], ["execution_start", {}]]}},
        {
            "status": {
                "messages": [["execution_start", {"timestamp": "soon"}], ["execution_success", {"timestamp": 1e400}]]
            }
        },
        {"outputs": {"1": {"images": 5}}, "status": {"completed": "yes"}},
        {"outputs": {"1": {"images": [{"filename": 3}, {"filename": ""}, {}]}}},
    ],
)
def test_history_odd_input_never_raises(raw: Any) -> None:
    h = HistoryEntry.from_raw(PID, raw)
    for attr in ("images", "files", "start_time", "end_time", "duration", "outcome", "error", "cached_nodes"):
        getattr(h, attr)
    assert h.images == []


# --- files, system, submit --------------------------------------------------------------------


def test_output_file() -> None:
    assert OutputFile.from_raw({"name": "up.png", "subfolder": "", "type": "input"}) == OutputFile(
        "up.png", "", "input"
    )
    assert OutputFile.from_raw({"filename": "x.png"}) == OutputFile("x.png", "", "output")
    assert OutputFile.from_raw({"filename": None}) is None
    assert OutputFile.from_raw("x.png") is None
    assert OutputFile("a.png", "sub", "output").annotated == "sub/a.png [output]"
    assert OutputFile("a.png", "", "input").annotated == "a.png"


def test_system_stats() -> None:
    raw = {
        "system": {
            "os": "posix",
            "ram_total": 100,
            "ram_free": 40,
            "comfyui_version": "0.3.75",
            "python_version": "3.11.7",
            "pytorch_version": "2.14.1",
            "embedded_python": False,
            "argv": ["main.py", "--cpu"],
        },
        "devices": [
            {
                "name": "cpu",
                "type": "cpu",
                "index": None,
                "vram_total": 100,
                "vram_free": 40,
                "torch_vram_total": 0,
                "torch_vram_free": 0,
            }
        ],
    }
    s = SystemStats.from_raw(raw)
    assert s.comfyui_version == "0.3.75" and s.ram_total == 100 and s.argv == ["main.py", "--cpu"]
    assert len(s.devices) == 1 and s.devices[0].name == "cpu" and s.devices[0].index is None
    assert s.devices[0].vram_free == 40


@pytest.mark.parametrize(
    "raw", [None, [], {"system": 5, "devices": {"a": 1}}, {"devices": [None, 5, {"vram_total": "x"}]}]
)
def test_system_stats_odd_input(raw: Any) -> None:
    s = SystemStats.from_raw(raw)
    assert isinstance(s.devices, list)


def test_submit_result() -> None:
    r = SubmitResult.from_raw({"prompt_id": PID, "number": 4, "node_errors": {}})
    assert r == SubmitResult(PID, 4.0, {})
    assert SubmitResult.from_raw(None, fallback_id="x") == SubmitResult("x", 0.0, {})


# --- errors ----------------------------------------------------------------------------------------

REJECTED: dict[str, Any] = {
    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""},
    "node_errors": {
        "5": {
            "errors": [
                {
                    "type": "value_smaller_than_min",
                    "message": "Value 0 smaller than min of 1",
                    "details": "steps",
                    "extra_info": {"input_name": "steps", "received_value": 0},
                },
                {
                    "type": "value_not_in_list",
                    "message": "Value not in list",
                    "details": "sampler_name: 'nope' not in (list of length 42)",
                    "extra_info": {"input_name": "sampler_name", "input_config": None, "received_value": "nope"},
                },
            ],
            "dependent_outputs": ["7"],
            "class_type": "KSampler",
        }
    },
}


def test_prompt_rejected_node_errors() -> None:
    exc = PromptRejected(REJECTED)
    assert exc.type == "prompt_outputs_failed_validation"
    errs = exc.node_errors["5"]
    assert [(e.input_name, e.type) for e in errs] == [
        ("steps", "value_smaller_than_min"),
        ("sampler_name", "value_not_in_list"),
    ]
    assert errs[0].received_value == 0 and errs[1].class_type == "KSampler"
    lines = str(exc).splitlines()
    assert lines[0] == "prompt_outputs_failed_validation: Prompt outputs failed validation"
    assert lines[1] == "node 5 (KSampler) input 'steps': value_smaller_than_min: Value 0 smaller than min of 1"
    assert lines[2] == (
        "node 5 (KSampler) input 'sampler_name': value_not_in_list: Value not in list"
        " ('nope' not in (list of length 42))"
    )
    assert len(exc.errors) == 2


def test_prompt_rejected_invalid_prompt() -> None:
    body = {
        "error": {
            "type": "invalid_prompt",
            "message": "Cannot execute because node NoSuchNode does not exist.",
            "details": "Node ID '#9'",
            "extra_info": {},
        },
        "node_errors": {},
    }
    exc = PromptRejected(body)
    assert exc.type == "invalid_prompt" and exc.node_errors == {}
    assert str(exc) == "invalid_prompt: Cannot execute because node NoSuchNode does not exist. - Node ID '#9'"


@pytest.mark.parametrize("body", [None, "text", {"error": "plain"}, {"node_errors": {"1": {"errors": [5, None]}}}])
def test_prompt_rejected_odd_bodies(body: Any) -> None:
    assert str(PromptRejected(body))


def test_parse_node_errors_odd() -> None:
    assert parse_node_errors(None) == {}
    assert parse_node_errors({"3": "x"}) == {"3": []}
    errs = parse_node_errors({"3": {"errors": [{}], "class_type": "X"}})["3"]
    assert errs == [InputError("3", "X", "error", "", "", None, None)]
    assert str(errs[0]) == "node 3 (X): error: "


def test_other_errors_are_readable() -> None:
    e = ServerError("GET", "http://h/view", 404, "Not Found\n")
    assert str(e) == "GET http://h/view -> HTTP 404: Not Found" and e.status == 404
    u = ServerUnreachable("http://h:1", "All connection attempts failed")
    assert "http://h:1" in str(u)


# --- URL and auth helpers ------------------------------------------------------------------------


def test_urls() -> None:
    assert normalize_base_url("127.0.0.1:8188/") == "http://127.0.0.1:8188"
    assert ws_url("http://h:8188/", "abc") == "ws://h:8188/ws?clientId=abc"
    assert ws_url("https://proxy.example/comfy", "a b") == "wss://proxy.example/comfy/ws?clientId=a%20b"


def test_auth_header() -> None:
    assert auth_header(None) is None
    assert auth_header("Bearer tok") == "Bearer tok"
    assert auth_header("tok") == "Bearer tok"
    assert auth_header("user:pass") == "Basic dXNlcjpwYXNz"


def test_backoff() -> None:
    assert 0.2 <= backoff_delay(1) <= 0.3
    assert 0.4 <= backoff_delay(2) <= 0.6
    assert backoff_delay(50, max_backoff=10) <= 10
    assert backoff_delay(10_000, max_backoff=3) <= 3


def test_credentials_in_url_are_split_off() -> None:
    assert split_credentials("http://u%40x:p%3Aw@h:81/comfy/") == ("http://h:81/comfy", "u@x:p:w")
    assert split_credentials("https://token@h") == ("https://h", "token")
    assert split_credentials("h:8188") == ("http://h:8188", None)


async def test_client_hides_credentials_and_makes_matching_stream() -> None:
    async with ComfyClient("http://me:s3cret@127.0.0.1:1", headers={"Origin": "o", "X-A": "1"}) as c:
        assert c.base_url == "http://127.0.0.1:1" and "s3cret" not in repr(c)
        assert c._http.headers["authorization"] == "Basic bWU6czNjcmV0"
        assert "origin" not in c._http.headers
        stream = c.event_stream(preview_metadata=False)
        assert stream.client_id == c.client_id and not stream.preview_metadata
        assert stream.url == f"ws://127.0.0.1:1/ws?clientId={c.client_id}"
        assert stream._headers == {"X-A": "1", "Authorization": "Basic bWU6czNjcmV0"}
        with pytest.raises(ServerUnreachable) as info:
            await c.system_stats()
        assert "s3cret" not in str(info.value) and "http://127.0.0.1:1" in str(info.value)


def test_submit_result_partial_errors() -> None:
    r = SubmitResult.from_raw({"prompt_id": PID, "number": 1, "node_errors": REJECTED["node_errors"]})
    assert [e.input_name for e in r.errors["5"]] == ["steps", "sampler_name"]
