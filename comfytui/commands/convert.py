"""`comfytui convert FILE`: a UI-format workflow (as saved by the ComfyUI page) → API format JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from comfytui.core.convert import convert_ui
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import NeedsConversion, Workflow, WorkflowError, parse_json, read_source

EXIT_BAD_INPUT = 2
EXIT_SERVER = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a UI-format workflow to API format (uses the server's /object_info)",
        description="Convert a workflow saved by the ComfyUI page (UI format) to API format, printed as JSON. "
        "An API-format file is checked and printed unchanged.",
    )
    p.add_argument("file", help="workflow JSON file, or a PNG saved by ComfyUI ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    p.add_argument("--object-info", metavar="JSON", help="use a saved /object_info file instead of asking the server")
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.add_argument(
        "--check",
        action="store_true",
        help="also check values and links against the server's catalogue; exit 1 if anything is wrong",
    )
    p.set_defaults(func=run)


def _err(msg: str) -> None:
    print(f"comfytui convert: {msg}", file=sys.stderr)


async def _fetch_object_info(url: str) -> dict[str, Any]:
    from comfytui.client.http import ComfyClient

    async with ComfyClient(url, timeout=30.0) as client:
        return await client.object_info()


def load_object_info(args: argparse.Namespace) -> ObjectInfo:
    """From ``--object-info`` or the server; raises ``WorkflowError`` / ``ComfyError`` with one-line messages."""
    if args.object_info:
        data = parse_json(_read(args.object_info), args.object_info)
        if not isinstance(data, dict):
            raise WorkflowError(f"{args.object_info}: not an /object_info dump")
        return ObjectInfo(data)
    return ObjectInfo(asyncio.run(_fetch_object_info(args.server)))


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise WorkflowError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise WorkflowError(f"{path}: is a directory, not a workflow file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"{path}: cannot read: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from comfytui.client.errors import ComfyError

    source = "<stdin>" if args.file == "-" else args.file
    try:
        notes: list[str] = []
        if args.file == "-":
            data = parse_json(sys.stdin.read(), source)
        else:
            data, notes = read_source(args.file)
        info: ObjectInfo | None = None
        try:
            prompt = Workflow.from_dict(data, source).to_api()
            notes.append("already in API format; printed unchanged")
        except NeedsConversion as exc:
            info = load_object_info(args)
            result = convert_ui(exc.ui, info, source=source)
            prompt, notes = result.prompt, [*notes, *result.notes]
        if args.check and info is None:
            info = load_object_info(args)
        problems = Workflow(prompt, source).validate(info) if info is not None else []
    except WorkflowError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except ComfyError as exc:
        _err(str(exc).splitlines()[0])
        return EXIT_SERVER
    text = json.dumps(prompt, indent=None if args.compact else 2, ensure_ascii=False) + "\n"
    for note in notes:
        _err(note)
    for problem in problems:
        _err(f"{'error' if args.check else 'warning'}: {problem}")
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            _err(f"{args.output}: cannot write: {exc.strerror or exc}")
            return 1
    else:
        sys.stdout.write(text)
    return 1 if args.check and problems else 0
