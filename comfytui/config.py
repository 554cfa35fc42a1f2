"""User configuration and recent files (no Textual here).

The config file is TOML at ``$COMFYTUI_CONFIG``, else ``$XDG_CONFIG_HOME/comfytui/config.toml``, else
``~/.config/comfytui/config.toml``. Keys (all optional)::

    server = "http://127.0.0.1:8188"
    auth = "user:password"          # or a token; sent as Authorization
    api_key = "comfyui-..."         # extra_data.api_key_comfy_org for ComfyUI's API nodes
    workflows_dir = "~/workflows"   # where the editor's file picker looks first

``$COMFYTUI_API_KEY`` overrides ``api_key``. comfytui only reads this file, never writes it. Recently opened
workflow files are kept as JSON in the data folder (``recent.json``). The API key and the auth value never show in
``repr``, logs, or any file comfytui writes: :func:`with_api_key` puts the key into a request's ``extra_data``, and
:func:`without_secrets` is applied before anything is saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comfytui.store.paths import data_dir
from comfytui.store.redact import REDACTED

__all__ = [
    "API_KEY_ENV",
    "API_KEY_FIELD",
    "CONFIG_ENV",
    "Config",
    "ConfigError",
    "add_recent",
    "config_path",
    "load_config",
    "load_recent",
    "recent_path",
    "with_api_key",
    "without_secrets",
]

CONFIG_ENV = "COMFYTUI_CONFIG"
API_KEY_ENV = "COMFYTUI_API_KEY"
AUTH_ENV = "COMFYTUI_AUTH"
#: extra_data keys the server treats as sensitive (stripped from /queue and /history)
API_KEY_FIELD = "api_key_comfy_org"
SECRET_EXTRA_FIELDS = (API_KEY_FIELD, "auth_token_comfy_org")
#: what a history entry may hold where a secret was hidden
_HIDDEN_MARKERS = frozenset({"[REDACTED]", "REDACTED", REDACTED, "", "<redacted>"})
MAX_RECENT = 12


class ConfigError(ValueError):
    """The config file cannot be read; the message is one line naming the file."""


def config_path() -> Path:
    """The config file's path (it need not exist)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "comfytui" / "config.toml"


def _mask(value: str | None) -> str:
    return "None" if value is None else repr(REDACTED)


@dataclass(frozen=True)
class Config:
    """What the config file (and the environment) say. Secrets are kept out of ``repr``."""

    server: str | None = None
    auth: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    workflows_dir: Path | None = None
    path: Path | None = None

    def __repr__(self) -> str:
        return (
            f"Config(server={self.server!r}, auth={_mask(self.auth)}, api_key={_mask(self.api_key)}, "
            f"workflows_dir={self.workflows_dir!r}, path={self.path!r})"
        )

    __str__ = __repr__


def _opt_str(data: Mapping[str, Any], key: str, where: Path) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return value.strip() or None


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (a missing file is an empty config) and apply the environment overrides."""
    env = os.environ if env is None else env
    where = path or config_path()
    data: dict[str, Any] = {}
    try:
        with open(where, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    wf_dir = _opt_str(data, "workflows_dir", where)
    return Config(
        server=_opt_str(data, "server", where),
        auth=env.get(AUTH_ENV) or _opt_str(data, "auth", where),
        api_key=env.get(API_KEY_ENV) or _opt_str(data, "api_key", where),
        workflows_dir=Path(wf_dir).expanduser() if wf_dir else None,
        path=where,
    )


def load_config_quietly() -> Config:
    """:func:`load_config`, falling back to the environment alone when the file is broken."""
    try:
        return load_config()
    except ConfigError:
        return Config(api_key=os.environ.get(API_KEY_ENV) or None, auth=os.environ.get(AUTH_ENV) or None)


# --- extra_data ---------------------------------------------------------------------------------------------------


def with_api_key(extra_data: Mapping[str, Any] | None, api_key: str | None) -> dict[str, Any]:
    """A copy of ``extra_data`` carrying the configured key where history stripped or redacted it.

    Without a configured key, a redaction placeholder is dropped (sending ``[REDACTED]`` as a key helps no one).
    """
    extra = dict(extra_data or {})
    current = extra.get(API_KEY_FIELD)
    if api_key:
        extra[API_KEY_FIELD] = api_key
    elif API_KEY_FIELD in extra and (not isinstance(current, str) or current.strip() in _HIDDEN_MARKERS):
        del extra[API_KEY_FIELD]
    return extra


def without_secrets(extra_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``extra_data`` without the API key and auth token (for anything written to disk)."""
    return {k: v for k, v in (extra_data or {}).items() if k not in SECRET_EXTRA_FIELDS}


# --- recent files -------------------------------------------------------------------------------------------------


def recent_path() -> Path:
    """The JSON list of recently opened workflow files."""
    return data_dir() / "recent.json"


def load_recent() -> list[Path]:
    """Recently opened files, newest first (unreadable state is an empty list)."""
    try:
        data = json.loads(recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    items = data.get("files") if isinstance(data, dict) else None
    return [Path(p) for p in items if isinstance(p, str)] if isinstance(items, list) else []


def add_recent(path: Path) -> list[Path]:
    """Put ``path`` (made absolute) first in the recent list and save it; returns the new list."""
    target = Path(path).expanduser().resolve()
    files = [target, *(p for p in load_recent() if p != target)][:MAX_RECENT]
    out = recent_path()
    with contextlib.suppress(OSError):
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".recent-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"files": [str(p) for p in files]}, fh, indent=1)
        os.replace(tmp, out)
    return files
