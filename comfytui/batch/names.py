"""Safe local file names for outputs whose names come from a server (which we do not trust).

Every name is built from sanitised components and checked to resolve inside the destination folder, so
``../../evil.png``, absolute paths, ``..`` in a subfolder, NUL bytes or symlinks pointing out cannot escape it.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "DEFAULT_TEMPLATE",
    "NAME_FIELDS",
    "UnsafePath",
    "check_template",
    "contained",
    "render_name",
    "safe_component",
    "safe_ext",
    "safe_relpath",
    "write_atomic",
]

DEFAULT_TEMPLATE = "{index}_{node}_{n}"
NAME_FIELDS = ("index", "i", "node", "n", "seed", "prompt_id", "run", "stem", "ext", "title")
MAX_COMPONENT_BYTES = 180
_RESERVED = re.compile(r'[<>:"|?*\\/\x00-\x1f\x7f]')
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_EXT = re.compile(r"^\.[a-z0-9]{1,10}$")


class UnsafePath(ValueError):
    """A path would land outside its destination folder."""


def _truncate(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and 0 < len(ext) <= 10:
        keep = limit - len(ext.encode("utf-8")) - 1
        return stem.encode("utf-8")[:keep].decode("utf-8", "ignore") + "." + ext
    return name.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_component(name: Any, fallback: str = "file") -> str:
    """One harmless path component: no separators, control characters, leading dots, ``..``, device names."""
    text = unicodedata.normalize("NFC", str(name))
    text = _RESERVED.sub("_", text).strip().lstrip(".").rstrip(". ")
    if not text or set(text) <= {"_", "."}:
        text = fallback
    if text.split(".")[0].upper() in _WINDOWS_DEVICES:
        text = "_" + text
    return _truncate(text, MAX_COMPONENT_BYTES)


def safe_relpath(subfolder: str, filename: str) -> PurePosixPath:
    """A relative path from a server's ``subfolder`` and ``filename``: ``..``, ``.``, empty and absolute parts drop."""
    parts: list[str] = []
    for raw in re.split(r"[/\\]+", subfolder or ""):
        if raw.strip() in ("", ".", ".."):
            continue
        parts.append(safe_component(raw, "dir"))
    # The file name is one component: a '/' inside it must not create folders.
    parts.append(safe_component(filename.replace("/", "_").replace("\\", "_") if filename else "", "file"))
    return PurePosixPath(*parts)


def safe_ext(filename: str, default: str = ".png") -> str:
    """The lower-case extension of a server file name, if it is a plain one (``.png``, ``.webp``...)."""
    ext = os.path.splitext(filename or "")[1].lower()
    return ext if _EXT.match(ext) else default


def contained(base: Path, rel: PurePosixPath | str) -> Path:
    """``base / rel``, guaranteed (after resolving symlinks) to stay inside ``base``; raises UnsafePath."""
    rel_path = PurePosixPath(rel)
    if rel_path.is_absolute() or any(p in ("..", "") for p in rel_path.parts) or "\x00" in str(rel_path):
        raise UnsafePath(f"refusing unsafe path {str(rel)!r}")
    root = base.resolve()
    target = (root / rel_path).resolve()
    if target == root or not target.is_relative_to(root):
        raise UnsafePath(f"refusing path {str(rel)!r}: it leaves {base}")
    return target


def check_template(template: str) -> None:
    """Raise ValueError (one line) if the template uses unknown fields or attribute/index access."""
    for _literal, field_name, spec, conv in string.Formatter().parse(template):
        if field_name is None:
            continue
        if field_name not in NAME_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in NAME_FIELDS)
            raise ValueError(f"unknown field {{{field_name}}} in --name template (use {allowed})")
        if conv not in (None, "s"):
            raise ValueError(f"conversion !{conv} is not allowed in --name templates")
        if spec and not re.fullmatch(r"[<>^]?0?\d{0,3}[dsx]?", spec):
            raise ValueError(f"format spec :{spec} is not allowed in --name templates")


def render_name(template: str, fields: Mapping[str, Any], ext: str) -> PurePosixPath:
    """The relative output path for one file; every value is sanitised, ``/`` in the template makes folders."""
    check_template(template)
    values: dict[str, Any] = {}
    for key in NAME_FIELDS:
        v = fields.get(key, "")
        values[key] = v if isinstance(v, int) and not isinstance(v, bool) else safe_component(v, "_")
    try:
        rendered = template.format_map(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad --name template {template!r}: {exc}") from exc
    parts = [p for p in re.split(r"[/\\]+", rendered) if p.strip() not in ("", ".", "..")]
    if not parts:
        parts = ["output"]
    clean = [safe_component(p, "_") for p in parts]
    if "{ext" not in template:
        clean[-1] = _truncate(clean[-1] + ext, MAX_COMPONENT_BYTES + len(ext))
    return PurePosixPath(*clean)


def write_atomic(base: Path, rel: PurePosixPath, data: bytes) -> Path:
    """Write ``data`` to ``base/rel`` (checked with :func:`contained`) through a temporary file; returns the path."""
    target = contained(base, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    contained(base, PurePosixPath(target.relative_to(base.resolve())))  # the folders we made are still inside
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
