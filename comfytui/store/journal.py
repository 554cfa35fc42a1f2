"""The run journal: what a batch planned, submitted, finished and saved, in SQLite, so a run can be resumed.

Each item's prompt id is chosen by the client and written here *before* the prompt is submitted, so after a crash
``--resume`` can ask the server's ``/queue`` and ``/history`` about it instead of running it again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from comfytui.store.paths import journal_path
from comfytui.store.redact import redact

__all__ = ["ITEM_STATES", "TERMINAL_STATES", "ItemRecord", "Journal", "JournalError", "RunRecord"]

# planned -> submitting -> queued -> running -> executed -> done;  or failed / interrupted / cancelled
ITEM_STATES = ("planned", "submitting", "queued", "running", "executed", "done", "failed", "interrupted", "cancelled")
TERMINAL_STATES = frozenset({"done", "failed"})

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL,
    workflow TEXT NOT NULL,
    server TEXT NOT NULL,
    client_id TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    name_template TEXT,
    params TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    prompt_id TEXT NOT NULL,
    status TEXT NOT NULL,
    seed INTEGER,
    text TEXT,
    inputs TEXT NOT NULL DEFAULT '{}',
    graph TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    number REAL,
    submitted_at REAL,
    started_at REAL,
    ended_at REAL,
    exec_seconds REAL,
    outputs TEXT NOT NULL DEFAULT '[]',
    files TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE INDEX IF NOT EXISTS items_prompt ON items(prompt_id);
"""


class JournalError(Exception):
    """A one-line, user-facing journal problem (unknown run, unreadable file)."""


@dataclass(slots=True)
class RunRecord:
    """One `comfytui run` invocation."""

    id: str
    workflow: str
    server: str
    client_id: str
    out_dir: str
    status: str = "running"
    name_template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0


@dataclass(slots=True)
class ItemRecord:
    """One prompt of a run (``index`` is 1-based, the ``<prompt#>`` in file names)."""

    index: int
    prompt_id: str
    graph: dict[str, Any]
    status: str = "planned"
    seed: int | None = None
    text: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    number: float | None = None
    submitted_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    exec_seconds: float | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    error: str | None = None


_JSON_ITEM_FIELDS = {"graph", "inputs", "outputs", "files"}
_ITEM_COLUMNS = {f.name: ("idx" if f.name == "index" else f.name) for f in fields(ItemRecord)}


def _item_from_row(row: sqlite3.Row) -> ItemRecord:
    values: dict[str, Any] = {}
    for attr, col in _ITEM_COLUMNS.items():
        v = row[col]
        values[attr] = json.loads(v) if attr in _JSON_ITEM_FIELDS else v
    return ItemRecord(**values)


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        workflow=row["workflow"],
        server=row["server"],
        client_id=row["client_id"],
        out_dir=row["out_dir"],
        status=row["status"],
        name_template=row["name_template"],
        params=json.loads(row["params"] or "{}"),
        created=row["created"],
        updated=row["updated"],
    )


class Journal:
    """The SQLite journal. ``Journal()`` opens the default file (``$COMFYTUI_DATA_DIR/runs.sqlite3``)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else journal_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open the run journal {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the run journal {self.path}: {exc}") from exc
        try:
            yield self._db
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise JournalError(f"the run journal already has this run: {exc}") from exc
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK")
            raise JournalError(f"cannot write the run journal {self.path}: {exc}") from exc
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- runs -----------------------------------------------------------------------

    def create_run(self, run: RunRecord, items: Iterable[ItemRecord]) -> None:
        """Record a new run and all of its planned items in one transaction."""
        now = time.time()
        run.created = run.created or now
        run.updated = now
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, created, updated, status, workflow, server, client_id, out_dir, name_template,"
                " params) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    run.id,
                    run.created,
                    run.updated,
                    run.status,
                    run.workflow,
                    run.server,
                    run.client_id,
                    run.out_dir,
                    run.name_template,
                    json.dumps(redact(run.params)),
                ),
            )
            for item in items:
                self._insert_item(db, run.id, item)

    def _insert_item(self, db: sqlite3.Connection, run_id: str, item: ItemRecord) -> None:
        cols = ["run_id", *(_ITEM_COLUMNS.values())]
        values: list[Any] = [run_id]
        for attr in _ITEM_COLUMNS:
            v = getattr(item, attr)
            values.append(json.dumps(redact(v)) if attr in _JSON_ITEM_FIELDS else v)
        db.execute(f"INSERT INTO items ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", values)

    def set_run_status(self, run_id: str, status: str) -> None:
        self._db.execute("UPDATE runs SET status=?, updated=? WHERE id=?", (status, time.time(), run_id))

    def get_run(self, ref: str) -> RunRecord:
        """A run by id, unique id prefix, or ``last``; raises JournalError."""
        if ref == "last":
            row = self._db.execute("SELECT * FROM runs ORDER BY created DESC LIMIT 1").fetchone()
            if row is None:
                raise JournalError("no runs in the journal yet")
            return _run_from_row(row)
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (ref,)).fetchone()
        if row is not None:
            return _run_from_row(row)
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (escaped + "%",)).fetchall()
        if len(rows) == 1:
            return _run_from_row(rows[0])
        if rows:
            raise JournalError(f"run '{ref}' is ambiguous; give more of its id")
        raise JournalError(f"no run '{ref}' in the journal {self.path}")

    def runs(self, limit: int = 50) -> list[RunRecord]:
        """The newest runs first."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [_run_from_row(r) for r in rows]

    # --- items --------------------------------------------------------------------------

    def items(self, run_id: str) -> list[ItemRecord]:
        rows = self._db.execute("SELECT * FROM items WHERE run_id=? ORDER BY idx", (run_id,)).fetchall()
        return [_item_from_row(r) for r in rows]

    def item(self, run_id: str, index: int) -> ItemRecord | None:
        row = self._db.execute("SELECT * FROM items WHERE run_id=? AND idx=?", (run_id, index)).fetchone()
        return None if row is None else _item_from_row(row)

    def update_item(self, run_id: str, index: int, **changes: Any) -> None:
        """Set some fields of one item (names as in ItemRecord)."""
        if not changes:
            return
        sets: list[str] = []
        values: list[Any] = []
        for attr, v in changes.items():
            col = _ITEM_COLUMNS.get(attr)
            if col is None or attr == "index":
                raise ValueError(f"unknown item field {attr!r}")
            if attr == "status" and v not in ITEM_STATES:
                raise ValueError(f"unknown item status {v!r}")
            sets.append(f"{col}=?")
            values.append(json.dumps(redact(v)) if attr in _JSON_ITEM_FIELDS else v)
        values += [run_id, index]
        try:
            self._db.execute(f"UPDATE items SET {', '.join(sets)} WHERE run_id=? AND idx=?", values)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the run journal {self.path}: {exc}") from exc

    def find_prompt(self, prompt_id: str) -> tuple[str, int] | None:
        """``(run_id, index)`` of the item that used this prompt id."""
        row = self._db.execute("SELECT run_id, idx FROM items WHERE prompt_id=? LIMIT 1", (prompt_id,)).fetchone()
        return None if row is None else (row["run_id"], row["idx"])

    def counts(self, run_id: str) -> dict[str, int]:
        """How many items are in each status."""
        rows = self._db.execute("SELECT status, COUNT(*) AS n FROM items WHERE run_id=? GROUP BY status", (run_id,))
        return {r["status"]: r["n"] for r in rows}
