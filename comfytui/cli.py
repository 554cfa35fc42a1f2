"""The `comfytui` entry point: the dashboard by default, plus headless subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

DEFAULT_SERVER = "http://127.0.0.1:8188"

# Each module defines `register(subparsers)`; its parser sets `func(args) -> int`.
COMMAND_MODULES = (
    "comfytui.commands.dashboard",
    "comfytui.commands.demo",
    "comfytui.commands.convert",
    "comfytui.commands.run",
    "comfytui.commands.control",
    "comfytui.commands.edit",
)


def default_server() -> str:
    """$COMFYTUI_SERVER, else `server` in the config file, else the local default."""
    from comfytui.config import load_config_quietly

    return os.environ.get("COMFYTUI_SERVER") or load_config_quietly().server or DEFAULT_SERVER


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comfytui", description="A terminal dashboard for ComfyUI.")
    parser.add_argument("--server", default=None, help=f"ComfyUI URL (default $COMFYTUI_SERVER or {DEFAULT_SERVER})")
    sub = parser.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    for subparser in sub.choices.values():
        # `comfytui run WF --server URL` works as well as `comfytui --server URL run WF`.
        if "--server" not in subparser._option_string_actions:
            subparser.add_argument("--server", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(args_list)
    if args.server is None:
        args.server = default_server()
    if args.command is None:
        args = parser.parse_args([*args_list, "dashboard"]) if "dashboard" in _commands(parser) else args
        if args.server is None:
            args.server = default_server()
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `comfytui history | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


if __name__ == "__main__":
    raise SystemExit(main())
