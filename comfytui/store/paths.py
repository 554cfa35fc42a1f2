"""Where comfytui keeps its data: ``$COMFYTUI_DATA_DIR``, else ``$XDG_DATA_HOME/comfytui``, else ``~/.local/share``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "journal_path"]


def data_dir() -> Path:
    """The data folder (not created here)."""
    explicit = os.environ.get("COMFYTUI_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "comfytui"


def journal_path() -> Path:
    """The SQLite file of the run journal."""
    return data_dir() / "runs.sqlite3"
