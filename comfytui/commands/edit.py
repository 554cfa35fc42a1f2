"""`comfytui edit [FILE]`: the dashboard, opened straight into the workflow editor (or its file picker)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from comfytui.config import ConfigError, load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "edit",
        help="edit a workflow (API or UI format) and submit it from the terminal",
        description="Open the dashboard with FILE in the workflow editor (the file picker when FILE is left out). "
        "The server, auth and API key come from the options, the environment or the config file "
        "($COMFYTUI_CONFIG, else ~/.config/comfytui/config.toml).",
    )
    p.add_argument("file", nargs="?", type=Path, help="workflow JSON (API or UI format) or a PNG saved by ComfyUI")
    p.add_argument("--server", default=argparse.SUPPRESS, help="ComfyUI URL")
    p.add_argument("--auth", default=None, help="'user:password' or a token (default $COMFYTUI_AUTH or the config)")
    p.set_defaults(func=run)


def _server(args: argparse.Namespace, configured: str | None) -> str:
    from comfytui.cli import DEFAULT_SERVER

    server: str = args.server
    if configured and server == DEFAULT_SERVER and not os.environ.get("COMFYTUI_SERVER") and "--server" not in sys.argv:
        return configured
    return server


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"comfytui edit: {exc}", file=sys.stderr)
        return 2
    path: Path | None = args.file
    if path is not None and not path.is_file():
        print(f"comfytui edit: {path}: no such file", file=sys.stderr)
        return 2

    from comfytui.ui.app import ComfyTUIApp  # Textual only when the UI runs
    from comfytui.ui.screens.editor import open_editor
    from comfytui.ui.widgets.editor_backend import SessionBackend

    app = ComfyTUIApp(_server(args, config.server), auth=args.auth or config.auth)
    assert app.session is not None
    app.editor_backend = SessionBackend(app.session, api_key=config.api_key)  # type: ignore[attr-defined]
    app.call_later(open_editor, app, path)
    app.run()
    return int(app.return_code or 0)
