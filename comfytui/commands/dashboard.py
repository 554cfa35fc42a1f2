"""`comfytui [dashboard]`: the live terminal dashboard (the default command)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="the live dashboard (default when no command is given)")
    p.add_argument("--server", default=argparse.SUPPRESS, help="ComfyUI URL")
    p.add_argument(
        "--auth", default=None, help="'user:password' or a token (default $COMFYTUI_AUTH); sent as Authorization"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from comfytui.config import load_config_quietly
    from comfytui.ui.app import run_dashboard  # Textual is imported only when the dashboard runs

    auth = getattr(args, "auth", None) or load_config_quietly().auth  # $COMFYTUI_AUTH, else the config file
    return run_dashboard(args.server, auth=auth)
