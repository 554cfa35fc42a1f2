"""Batch planning, reporters and the manifest (no server)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from comfytui.batch.manifest import build_manifest, write_manifest
from comfytui.batch.plan import (
    PlanError,
    SeedSpec,
    find_prompt_input,
    parse_seed_spec,
    plan_batch,
    read_prompts,
    seed_inputs,
)
from comfytui.batch.progress import JsonReporter, NullReporter, PlainReporter, make_reporter
from comfytui.store.journal import ItemRecord, RunRecord

WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "tiny_txt2img.json"


@pytest.fixture()
def graph() -> dict[str, Any]:
    return dict(json.loads(WORKFLOW.read_text()))


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("42", SeedSpec("fixed", 42)),
        (" 7 ", SeedSpec("fixed", 7)),
        ("1..5", SeedSpec("range", 1, 5)),
        ("10-12", SeedSpec("range", 10, 12)),
        ("3:3", SeedSpec("range", 3, 3)),
        ("random", SeedSpec("random")),
        ("RANDOM", SeedSpec("random")),
    ],
)
def test_seed_specs(text: str, spec: SeedSpec) -> None:
    assert parse_seed_spec(text) == spec


@pytest.mark.parametrize("text", ["abc", "5..1", "-3", "1..x", str(2**64), "0..200000"])
def test_bad_seed_specs(text: str) -> None:
    with pytest.raises(PlanError):
        parse_seed_spec(text)


def test_seed_lists() -> None:
    assert SeedSpec("fixed", 5).seeds(3) == [5, 6, 7]
    assert SeedSpec("range", 2, 4).seeds(1) == [2, 3, 4]
    seeds = SeedSpec("random").seeds(20, random.Random(1))
    assert len(set(seeds)) == 20 and all(0 <= s < 2**53 for s in seeds)


def test_sampler_seed_only(graph: dict[str, Any]) -> None:
    # The tiny loader's own `seed` (its weights) is not a sampling seed.
    assert seed_inputs(graph) == [("5", "seed")]
    del graph["5"]
    assert seed_inputs(graph) == [("1", "seed")]


def test_sweep(graph: dict[str, Any]) -> None:
    items = plan_batch(graph, seed=parse_seed_spec("100..149"))
    assert [i.index for i in items] == list(range(1, 51))
    assert [i.graph["5"]["inputs"]["seed"] for i in items] == list(range(100, 150))
    assert all(i.graph["1"]["inputs"]["seed"] == 0 for i in items)
    assert graph["5"]["inputs"]["seed"] == 42  # the input graph is untouched


def test_prompts_times_seeds(graph: dict[str, Any]) -> None:
    items = plan_batch(graph, seed=SeedSpec("fixed", 1), count=2, prompts=["a cat", "a dog"], overrides={"5.steps": 4})
    assert [(i.text, i.seed) for i in items] == [("a cat", 1), ("a cat", 2), ("a dog", 1), ("a dog", 2)]
    assert items[2].graph["2"]["inputs"]["text"] == "a dog"
    assert items[2].inputs == {"5.steps": 4, "2.text": "a dog"}


def test_default_seeds_count_up(graph: dict[str, Any]) -> None:
    assert [i.seed for i in plan_batch(graph, count=3)] == [42, 43, 44]
    assert [i.seed for i in plan_batch(graph)] == [42]


def test_plan_errors(graph: dict[str, Any]) -> None:
    with pytest.raises(PlanError, match="at least 1"):
        plan_batch(graph, count=0)
    with pytest.raises(PlanError, match="seed range"):
        plan_batch(graph, seed=SeedSpec("range", 1, 3), count=2)
    no_seed = {k: v for k, v in graph.items() if k not in ("1", "5")}
    with pytest.raises(PlanError, match="no seed input"):
        plan_batch(no_seed, seed=SeedSpec("fixed", 1))


def test_prompt_input_detection(graph: dict[str, Any]) -> None:
    assert find_prompt_input(graph) == ("2", "text")
    assert find_prompt_input(graph, "Negative.text") == ("3", "text")
    assert find_prompt_input(graph, "3.text") == ("3", "text")
    graph["2"]["_meta"]["title"] = "Encoder A"
    assert find_prompt_input(graph) == ("2", "text")  # found through the sampler's `positive` link
    del graph["5"]
    with pytest.raises(PlanError, match="--prompt-input"):
        find_prompt_input(graph)
    for bad in ("nodot", "Nope.text", "2.nope"):
        with pytest.raises(PlanError):
            find_prompt_input(graph, bad)


def test_read_prompts(tmp_path: Path) -> None:
    f = tmp_path / "p.txt"
    f.write_text("# header\na red fox\n\n  a blue cat  \n")
    assert read_prompts(f) == ["a red fox", "a blue cat"]
    f.write_text("# only a comment\n")
    with pytest.raises(PlanError, match="no prompts"):
        read_prompts(f)
    with pytest.raises(PlanError, match="not found"):
        read_prompts(tmp_path / "missing.txt")


def test_json_reporter_lines() -> None:
    buf = io.StringIO()
    r = JsonReporter(buf)
    r.event("run_start", run="r", total=2)
    r.event("done", index=1, files=[Path("a.png")])
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["run_start", "done"]
    assert lines[1]["files"] == ["a.png"] and "time" in lines[1]


def test_plain_reporter_lines() -> None:
    buf = io.StringIO()
    r = PlainReporter(buf)
    r.event("run_start", run="r", total=2, todo=2, out_dir="/o")
    r.event("progress", index=1, value=1, max=8)
    r.event("done", index=1, seconds=0.25, files=["001_7_0.png"])
    r.event("failed", index=2, error="boom")
    r.event("run_end", message="bye")
    assert buf.getvalue().splitlines() == [
        "run r: 2 of 2 prompts to go -> /o",
        "[1/2] #1 done in 0.25s: 001_7_0.png",
        "[2/2] #2 FAILED: boom",
        "bye",
    ]


def test_make_reporter() -> None:
    assert isinstance(make_reporter(True), JsonReporter)
    assert isinstance(make_reporter(False, tty=False), PlainReporter)
    n = NullReporter()
    n.event("x", a=1)
    assert n.events == [("x", {"a": 1})]


def test_manifest(tmp_path: Path) -> None:
    run = RunRecord(
        id="r1",
        workflow="/w.json",
        server="http://***@h",
        client_id="c",
        out_dir=str(tmp_path),
        status="done",
        params={"api_key": "sk-1", "count": 2},
        created=1.5e9,
    )
    items = [
        ItemRecord(
            index=1,
            prompt_id="p1",
            graph={},
            status="done",
            seed=5,
            inputs={"2.text": "fox"},
            exec_seconds=0.25,
            outputs=[{"node": "7", "filename": "t_1.png", "subfolder": "", "type": "output"}],
            files=["001_7_0.png"],
            submitted_at=1.5e9,
        ),
        ItemRecord(index=2, prompt_id="p2", graph={}, status="failed", seed=6, error="boom", exec_seconds=0.5),
    ]
    m = build_manifest(run, items, {"wall_seconds": 1.0})
    path = write_manifest(tmp_path, m)
    data = json.loads(path.read_text())
    assert data["params"] == {"api_key": "***", "count": 2}
    assert (data["total"], data["succeeded"], data["failed"], data["busy_seconds"]) == (2, 1, 1, 0.75)
    first = data["items"][0]
    assert first["files"] == [
        {"path": "001_7_0.png", "node": "7", "server": {"filename": "t_1.png", "subfolder": "", "type": "output"}}
    ]
    assert first["seed"] == 5 and first["inputs"] == {"2.text": "fox"} and first["submitted_at"].endswith("Z")
    assert data["items"][1]["error"] == "boom"
    assert list(tmp_path.iterdir()) == [path]


def test_a_live_run_cannot_be_resumed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl

    from comfytui import cli
    from comfytui.store.journal import Journal

    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path))
    with Journal() as j:
        j.create_run(
            RunRecord(
                id="20260101-000000-aaaa", workflow="w", server="http://x", client_id="c", out_dir=str(tmp_path / "o")
            ),
            [],
        )
    (tmp_path / "locks").mkdir()
    with open(tmp_path / "locks" / "20260101-000000-aaaa.lock", "w") as fh:
        fh.write("4242")
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_EX)
        rc = cli.main(["run", "--resume", "20260101", "--server", "http://127.0.0.1:9"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.strip() == "comfytui run: error: run 20260101-000000-aaaa is already running (pid 4242)"
