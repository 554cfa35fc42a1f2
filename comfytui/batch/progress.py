"""Progress reporters for a batch: bars on a terminal, plain lines otherwise, JSON lines with ``--json``.

The engine calls ``reporter.event(kind, **data)``; kinds: ``run_start``, ``submitted``, ``started``, ``progress``,
``done``, ``failed``, ``note``, ``warning``, ``cancelled``, ``run_end``. Human output goes to stderr; JSON to stdout.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any, Protocol

from rich.markup import escape

__all__ = ["JsonReporter", "NullReporter", "PlainReporter", "Reporter", "TtyReporter", "make_reporter"]


class Reporter(Protocol):
    def event(self, kind: str, **data: Any) -> None: ...

    def close(self) -> None: ...


class NullReporter:
    """Swallows everything (library use, benchmarks)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def close(self) -> None:
        pass


class JsonReporter:
    """One JSON object per event on stdout: ``{"event": kind, "time": unix, ...}``."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def event(self, kind: str, **data: Any) -> None:
        payload = {"event": kind, "time": round(time.time(), 3), **data}
        self.stream.write(json.dumps(payload, default=str) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


def _files(data: dict[str, Any]) -> str:
    files = data.get("files") or []
    if not files:
        return "no files"
    first = str(files[0])
    return first if len(files) == 1 else f"{first} (+{len(files) - 1})"


class PlainReporter:
    """Plain lines on stderr, one per finished prompt (for logs and pipes)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = 0
        self.finished = 0

    def _say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def event(self, kind: str, **data: Any) -> None:
        if kind == "run_start":
            self.total = int(data.get("total", 0))
            self.finished = int(data.get("already_done", 0))
            verb = "resuming" if data.get("resumed") else "run"
            todo = int(data.get("todo", self.total))
            self._say(f"{verb} {data.get('run')}: {todo} of {self.total} prompts to go -> {data.get('out_dir')}")
        elif kind in ("done", "failed"):
            self.finished += 1
            head = f"[{self.finished}/{self.total}] #{data.get('index')}"
            if kind == "done":
                secs = data.get("seconds")
                took = f" in {secs:.2f}s" if isinstance(secs, int | float) else ""
                self._say(f"{head} done{took}: {_files(data)}")
            else:
                self._say(f"{head} FAILED: {data.get('error')}")
        elif kind in ("note", "warning"):
            self._say(f"{kind}: {data.get('message')}")
        elif kind == "cancelled" or kind == "run_end":
            self._say(str(data.get("message")))

    def close(self) -> None:
        pass


class TtyReporter:
    """Two live bars on stderr (the batch, the current prompt's steps) with rich; notes and failures above them."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            refresh_per_second=8,
        )
        self.overall = self.progress.add_task("batch", total=None)
        self.current = self.progress.add_task("prompt", total=None, visible=False)
        self.current_index: int | None = None
        self.final: list[str] = []
        self.progress.start()

    def event(self, kind: str, **data: Any) -> None:
        p = self.progress
        if kind == "run_start":
            p.update(self.overall, total=int(data.get("total", 0)), completed=int(data.get("already_done", 0)))
            p.update(self.overall, description=f"run {data.get('run')}")
            p.console.print(f"[dim]output: {escape(str(data.get('out_dir')))}[/]", highlight=False)
        elif kind == "started":
            self.current_index = data.get("index")
            seed = data.get("seed")
            label = f"#{data.get('index')}" + ("" if seed is None else f" seed {seed}")
            p.update(self.current, description=label, completed=0, total=None, visible=True)
        elif kind == "progress":
            if data.get("index") == self.current_index:
                p.update(self.current, completed=int(data.get("value", 0)), total=int(data.get("max", 0)) or None)
        elif kind == "done":
            p.advance(self.overall)
        elif kind == "failed":
            p.advance(self.overall)
            p.console.print(f"[red]#{data.get('index')} failed:[/] {escape(str(data.get('error')))}", highlight=False)
        elif kind in ("note", "warning"):
            style = "yellow" if kind == "warning" else "dim"
            p.console.print(f"[{style}]{kind}: {escape(str(data.get('message')))}[/]", highlight=False)
        elif kind in ("cancelled", "run_end"):
            self.final.append(str(data.get("message")))

    def close(self) -> None:
        self.progress.update(self.current, visible=False)
        self.progress.refresh()
        self.progress.stop()
        for message in self.final:
            self.console.print(message, highlight=False, markup=False)


def make_reporter(json_mode: bool, tty: bool | None = None) -> Reporter:
    """JSON lines if asked, bars if stderr is a terminal, plain lines otherwise."""
    if json_mode:
        return JsonReporter()
    if tty is None:
        tty = sys.stderr.isatty()
    return TtyReporter() if tty else PlainReporter()
