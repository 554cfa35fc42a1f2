"""The SQLite run journal: round trips, lookups, redaction, locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfytui.store import Journal, JournalError, data_dir, journal_path, redact, redact_url
from comfytui.store.journal import ItemRecord, RunRecord


def _run(run_id: str = "20260101-000000-abcd", **kw: object) -> RunRecord:
    return RunRecord(id=run_id, workflow="/w.json", server="http://h:1", client_id="cid", out_dir="/o", **kw)  # type: ignore[arg-type]


def _items(n: int) -> list[ItemRecord]:
    return [
        ItemRecord(index=i, prompt_id=f"pid-{i}", graph={"5": {"inputs": {"seed": i}}}, seed=i, inputs={"5.seed": i})
        for i in range(1, n + 1)
    ]


def test_round_trip_and_updates(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        j.create_run(_run(params={"count": 3}), _items(3))
        j.update_item(_run().id, 2, status="executed", outputs=[{"node": "7", "filename": "a.png"}], exec_seconds=0.5)
        j.update_item(_run().id, 2, status="done", files=["002_7_0.png"])
        j.set_run_status(_run().id, "done")
    with Journal(path) as j:  # survives reopening
        run = j.get_run(_run().id)
        assert run.status == "done" and run.params == {"count": 3} and run.created > 0
        items = j.items(run.id)
        assert [i.index for i in items] == [1, 2, 3]
        assert items[1].status == "done" and items[1].files == ["002_7_0.png"] and items[1].exec_seconds == 0.5
        assert items[1].outputs == [{"node": "7", "filename": "a.png"}]
        assert items[0].graph == {"5": {"inputs": {"seed": 1}}} and items[0].inputs == {"5.seed": 1}
        assert j.counts(run.id) == {"planned": 2, "done": 1}
        assert j.find_prompt("pid-3") == (run.id, 3)
        assert j.find_prompt("nope") is None
        assert j.item(run.id, 9) is None


def test_bad_updates_raise(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        j.create_run(_run(), _items(1))
        with pytest.raises(ValueError):
            j.update_item(_run().id, 1, status="bogus")
        with pytest.raises(ValueError):
            j.update_item(_run().id, 1, nope=1)


def test_run_lookup(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        with pytest.raises(JournalError, match="no runs"):
            j.get_run("last")
        j.create_run(_run("20260101-000000-aaaa"), [])
        j.create_run(_run("20260101-000000-aaab", created=2e9), [])
        j.create_run(_run("20260102-000000-bbbb", created=1e9), [])
        assert j.get_run("last").id == "20260101-000000-aaab"
        assert j.get_run("20260102").id == "20260102-000000-bbbb"
        with pytest.raises(JournalError, match="ambiguous"):
            j.get_run("20260101-000000-aa")
        with pytest.raises(JournalError, match="no run"):
            j.get_run("1999")
        with pytest.raises(JournalError, match="no run"):
            j.get_run("%")  # LIKE wildcards are literal
        assert j.runs()[0].id == "20260101-000000-aaab"


def test_secrets_are_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        item = ItemRecord(index=1, prompt_id="p", graph={"9": {"inputs": {"api_key": "sk-secret-1"}}})
        j.create_run(_run(params={"api_key_comfy_org": "sk-secret-2", "password": "hunter2"}), [item])
        j.update_item(_run().id, 1, inputs={"auth_token": "sk-secret-3"})
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite3-*"))
    for secret in (b"sk-secret-1", b"sk-secret-2", b"sk-secret-3", b"hunter2"):
        assert secret not in raw


def test_unwritable_location_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot open the run journal"):
        Journal(blocker / "sub" / "j.sqlite3")


def test_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COMFYTUI_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "comfytui"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "comfytui"
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "d"))
    assert journal_path() == tmp_path / "d" / "runs.sqlite3"
    Journal().close()
    assert (tmp_path / "d" / "runs.sqlite3").is_file()


def test_redaction_helpers() -> None:
    data = {"extra": {"api_key_comfy_org": "k", "auth_token_comfy_org": "t", "max_tokens": 5, "author": "me"}}
    assert redact(data) == {
        "extra": {"api_key_comfy_org": "***", "auth_token_comfy_org": "***", "max_tokens": 5, "author": "me"}
    }
    assert redact([{"Password": "x"}, {"token": ""}]) == [{"Password": "***"}, {"token": ""}]
    assert redact_url("http://user:pw@h:1/p?token=abc&a=1") == "http://***@h:1/p?token=***&a=1"
    assert redact_url("http://h:1") == "http://h:1"
