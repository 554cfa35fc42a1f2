"""`comfytui run WORKFLOW`: a headless, resumable batch that keeps the server busy."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from comfytui.batch.engine import BatchEngine, EngineOptions, RunOutcome
from comfytui.batch.manifest import build_manifest, write_manifest
from comfytui.batch.names import DEFAULT_TEMPLATE, check_template, safe_component
from comfytui.batch.plan import PlanError, find_prompt_input, parse_seed_spec, plan_batch, read_prompts
from comfytui.batch.progress import Reporter, make_reporter
from comfytui.client.errors import ComfyError, ServerUnreachable
from comfytui.client.http import ComfyClient
from comfytui.client.ws import backoff_delay
from comfytui.config import load_config_quietly
from comfytui.store.journal import ItemRecord, Journal, JournalError, RunRecord
from comfytui.store.paths import data_dir
from comfytui.store.redact import redact_url

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_UNREACHABLE", "EXIT_USAGE", "register"]

EXIT_FAILED = 1  # some prompts failed
EXIT_USAGE = 2  # bad input: file, JSON, options, a workflow the server rejects
EXIT_UNREACHABLE = 3  # the server could not be reached (the journal is kept: --resume)
EXIT_INTERRUPTED = 130  # Ctrl-C


class UserError(Exception):
    """A one-line problem for the user, with the exit code to use."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a workflow headless: batches, seed sweeps, resumable",
        description=(
            "Run a workflow (API or UI format) as a batch: every --prompts line × every seed × --count. Outputs go "
            "to OUT/<run>/ with manifest.json; the journal makes the run resumable (--resume RUN)."
        ),
        epilog=(
            "environment: COMFYTUI_API_KEY, else api_key in the config file "
            "(sent as extra_data.api_key_comfy_org, never printed or saved), "
            "COMFYTUI_DATA_DIR (journal folder; default $XDG_DATA_HOME/comfytui). "
            "exit status: 0 all prompts succeeded, 1 some failed, 2 bad input or workflow rejected, "
            "3 server unreachable, 130 Ctrl-C (pending prompts removed from the queue)."
        ),
    )
    p.add_argument("workflow", nargs="?", help="workflow JSON file (API format, or UI format converted on the fly)")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NODE.INPUT=VALUE",
        help="set an input; NODE is a node id or title (repeatable)",
    )
    p.add_argument("--seed", help="N (counts up with --count), A..B (a sweep) or random")
    p.add_argument("--count", type=int, default=None, help="images per prompt (default 1)")
    p.add_argument("--prompts", type=Path, help="file with one prompt per line (each becomes part of the batch)")
    p.add_argument("--prompt-input", metavar="NODE.INPUT", help="where --prompts lines go (default: the positive text)")
    p.add_argument("--out", type=Path, default=Path("outputs"), help="output folder (default ./outputs)")
    p.add_argument(
        "--name",
        default=None,
        metavar="TEMPLATE",
        help="file name template, default '{index}_{node}_{n}'; fields: {index} {i} {node} {n} {seed} "
        "{prompt_id} {run} {stem} {ext} {title}",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.add_argument("--window", type=int, default=3, help="prompts kept queued ahead on the server (default 3)")
    p.add_argument("--downloads", type=int, default=4, help="concurrent downloads (default 4)")
    p.add_argument("--resume", metavar="RUN", help="resume a run (its id, a unique prefix, or 'last')")
    p.add_argument("--retries", type=int, default=4, help="connection attempts before giving up (default 4)")
    p.add_argument(
        "--outage-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for a server that went away mid-run (default 60)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Entry point of `comfytui run`."""
    try:
        return asyncio.run(_main(args))
    except UserError as exc:
        return _error(args, str(exc), exc.code)
    except (JournalError, PlanError) as exc:
        return _error(args, str(exc), EXIT_USAGE)
    except KeyboardInterrupt:  # before anything was submitted
        print("comfytui run: interrupted (nothing was queued)", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def _error(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr (and, with --json, an ``error`` event on stdout); returns the exit code."""
    print(f"comfytui run: error: {message}", file=sys.stderr, flush=True)
    if getattr(args, "json", False):
        print(json.dumps({"event": "error", "time": round(time.time(), 3), "message": message, "exit_code": code}))
    return code


def _new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


async def _object_info(client: ComfyClient, classes: set[str] | None) -> dict[str, Any]:
    """The catalogue entries of ``classes`` (one cheap request each, side by side), or all of it."""
    if classes is None:
        return await client.object_info()
    if not classes:  # just make sure the server answers
        await client.queue_remaining()
        return {}
    names = sorted(classes)
    parts = await asyncio.gather(*(client.object_info(name) for name in names))
    return {k: v for part in parts for k, v in part.items()}


async def _connect(
    client: ComfyClient, retries: int, reporter: Reporter | None = None, classes: set[str] | None = None
) -> dict[str, Any]:
    """``/object_info`` (of ``classes`` only, when given) with retries and backoff; UserError (exit 3) when the
    server stays away."""
    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        try:
            return await _object_info(client, classes)
        except ServerUnreachable as exc:
            if attempt == attempts:
                raise UserError(
                    f"cannot reach ComfyUI at {redact_url(client.base_url)} ({exc.reason}) after {attempts} "
                    f"attempt{'s' if attempts > 1 else ''}",
                    EXIT_UNREACHABLE,
                ) from None
            delay = backoff_delay(attempt, 8.0, base=0.5)
            if reporter is not None:
                reporter.event("warning", message=f"server unreachable, retrying in {delay:.1f}s")
            await asyncio.sleep(delay)
        except ComfyError as exc:
            raise UserError(f"the server answered badly: {exc}", EXIT_UNREACHABLE) from None
    raise AssertionError("unreachable")


def _load_workflow(args: argparse.Namespace) -> tuple[Any, bool]:
    """Load the file before contacting the server; ``(workflow or None, needs_conversion)``."""
    from comfytui.core.workflow import NeedsConversion, WorkflowError, load_any

    try:
        wf, _notes = load_any(Path(args.workflow))
    except NeedsConversion:
        return None, True
    except WorkflowError as exc:
        raise UserError(str(exc)) from None
    return wf, False


def _check_options(args: argparse.Namespace) -> None:
    if args.window < 1:
        raise UserError("--window must be at least 1")
    if args.downloads < 1:
        raise UserError("--downloads must be at least 1")
    if args.name is not None:
        try:
            check_template(args.name)
        except ValueError as exc:
            raise UserError(str(exc)) from None


async def _plan_new_run(args: argparse.Namespace, client: ComfyClient, reporter: Reporter) -> tuple[Journal, RunRecord]:
    from comfytui.core.object_info import ObjectInfo
    from comfytui.core.workflow import WorkflowError, load_any

    if not args.workflow:
        raise UserError("give a WORKFLOW file (or --resume RUN)")
    _check_options(args)
    seed = parse_seed_spec(args.seed) if args.seed is not None else None
    prompts = read_prompts(args.prompts) if args.prompts is not None else None
    wf, needs_conversion = _load_workflow(args)
    classes = None if needs_conversion else {wf.class_type(nid) for nid in wf.node_ids()}
    info = ObjectInfo(await _connect(client, args.retries, reporter, classes))
    try:
        if needs_conversion:
            wf, notes = load_any(Path(args.workflow), info)
            for note in notes:
                reporter.event("note", message=f"{args.workflow}: {note}")
        changes = [wf.parse_override(text, info) for text in args.sets]
    except WorkflowError as exc:
        raise UserError(str(exc)) from None
    wf = wf.with_inputs(changes) if changes else wf
    unknown = [p for p in wf.validate(info) if "unknown node class" in p.message]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise UserError(f"{args.workflow}: {unknown[0]}{more}")
    graph = wf.to_api()
    target = find_prompt_input(graph, args.prompt_input) if (prompts or args.prompt_input) else None
    overrides = {f"{nid}.{name}": value for nid, name, value in changes}
    planned = plan_batch(graph, seed=seed, count=args.count, prompts=prompts, prompt_input=target, overrides=overrides)
    run_id = _new_run_id()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {args.out}: {exc.strerror or exc}") from None
    if not os.access(args.out, os.W_OK | os.X_OK):
        raise UserError(f"cannot write into the output folder {args.out}")
    out_dir = (args.out / run_id).resolve()
    run = RunRecord(
        id=run_id,
        workflow=str(Path(args.workflow).resolve()),
        server=redact_url(args.server),
        client_id=uuid.uuid4().hex,
        out_dir=str(out_dir),
        name_template=args.name,
        params={
            "set": list(args.sets),
            "seed": args.seed,
            "count": args.count,
            "prompts": None if args.prompts is None else str(args.prompts),
            "window": args.window,
            "name": args.name or DEFAULT_TEMPLATE,
        },
    )
    items = [
        ItemRecord(index=p.index, prompt_id=str(uuid.uuid4()), graph=p.graph, seed=p.seed, text=p.text, inputs=p.inputs)
        for p in planned
    ]
    journal = Journal()
    journal.create_run(run, items)
    return journal, run


def _resume_target(args: argparse.Namespace) -> tuple[Journal, RunRecord, str]:
    from comfytui.cli import default_server

    extra = [
        flag
        for flag, v in (
            ("--set", args.sets),
            ("--seed", args.seed),
            ("--count", args.count),
            ("--prompts", args.prompts),
            ("--name", args.name),
        )
        if v
    ]
    if extra:
        raise UserError(f"--resume cannot be combined with {', '.join(extra)} (the run keeps its plan)")
    if args.workflow:
        raise UserError("--resume takes the run id, not a WORKFLOW")
    journal = Journal()
    run = journal.get_run(args.resume)
    url = args.server
    if url == default_server() and "***" not in run.server:
        url = run.server  # resume against the server the run used, unless told otherwise
    return journal, run, url


@contextlib.contextmanager
def _run_lock(run_id: str) -> Iterator[None]:
    """Hold a lock on the run while it executes, so a second ``--resume`` of a live run is refused."""
    import fcntl

    folder = data_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{safe_component(run_id)}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise UserError(f"run {run_id} is already running (pid {holder})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _client(url: str) -> ComfyClient:
    try:
        return ComfyClient(url, timeout=30)
    except Exception as exc:  # httpx refuses some URLs at construction
        raise UserError(f"bad server URL {redact_url(url)!r}: {exc}") from None


async def _main(args: argparse.Namespace) -> int:
    reporter = make_reporter(args.json)
    client: ComfyClient | None = None
    try:
        with contextlib.ExitStack() as stack:
            if args.resume:
                journal, run, url = _resume_target(args)
                stack.enter_context(journal)
                stack.enter_context(_run_lock(run.id))  # before anything else: one process per run
                _check_options(args)
                client = _client(url)
                await _connect(client, args.retries, reporter, classes=set())
            else:
                url = args.server
                client = _client(url)
                journal, run = await _plan_new_run(args, client, reporter)
                stack.enter_context(journal)
                stack.enter_context(_run_lock(run.id))
            options = EngineOptions(
                window=args.window,
                downloads=args.downloads,
                outage_timeout=args.outage_timeout,
                api_key=load_config_quietly().api_key,  # COMFYTUI_API_KEY, else the config file
                name_template=run.name_template or DEFAULT_TEMPLATE,
            )
            engine = BatchEngine(journal, run, url, options, reporter, client)
            outcome = await engine.execute()
            run = journal.get_run(run.id)
            items = journal.items(run.id)
            manifest = Path(run.out_dir) / "manifest.json"
            if outcome.rejected is None or outcome.succeeded:
                extra = {"wall_seconds": round(outcome.wall_seconds, 3)}
                manifest = write_manifest(Path(run.out_dir), build_manifest(run, items, extra))
            return _report(args, reporter, run, outcome, manifest)
    finally:
        reporter.close()
        if client is not None:
            await client.aclose()


def _report(args: argparse.Namespace, reporter: Reporter, run: RunRecord, o: RunOutcome, manifest: Path) -> int:
    resume = f"comfytui run --resume {run.id}"
    head = f"run {run.id}: {o.succeeded}/{o.total} prompts done"
    if o.cancelled:
        code = EXIT_INTERRUPTED
        parts = [f"removed {o.removed} pending prompt{'s' if o.removed != 1 else ''} of this run from the server queue"]
        if o.stopped:
            parts.append("interrupted the running one")
        message = f"cancelled: {', '.join(parts)}; {head}. Resume with: {resume}"
    elif o.rejected is not None:
        code = EXIT_USAGE
        message = f"error: workflow rejected by the server: {o.rejected}"
    elif o.unreachable is not None:
        code = EXIT_UNREACHABLE
        message = f"error: {o.unreachable}; {head}. Resume with: {resume}"
    elif o.ok:
        code = 0
        message = f"{head} in {o.wall_seconds:.1f}s (server busy {o.busy_seconds:.1f}s) -> {run.out_dir}"
    else:
        code = EXIT_FAILED
        failed = o.failed or []
        lines = [f"{head}, {len(failed) or o.total - o.succeeded} failed:"]
        for item in failed[:10]:
            lines.append(f"  #{item.index} ({item.prompt_id}): {item.error}")
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10} more (see {manifest})")
        lines.append(f"retry the failed ones with: {resume}")
        message = "\n".join(lines)
    reporter.event(
        "run_end",
        run=run.id,
        ok=o.ok,
        exit_code=code,
        total=o.total,
        succeeded=o.succeeded,
        failed=[{"index": i.index, "prompt_id": i.prompt_id, "error": i.error} for i in o.failed],
        cancelled=o.cancelled,
        wall_seconds=round(o.wall_seconds, 3),
        busy_seconds=round(o.busy_seconds, 3),
        out_dir=run.out_dir,
        manifest=str(manifest),
        message=message,
    )
    if args.json and code != 0:
        print(f"comfytui run: {message.splitlines()[0]}", file=sys.stderr, flush=True)
    if not args.json and code in (0, EXIT_FAILED):
        print(run.out_dir, flush=True)  # for scripts: out=$(comfytui run wf.json)
    return code
