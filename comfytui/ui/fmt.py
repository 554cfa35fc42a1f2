"""Small pure formatting helpers shared by the panes (no Textual imports)."""

from __future__ import annotations

from typing import Any

# status -> (glyph, style); styles use Textual theme variables via Rich-compatible colour names.
NODE_GLYPHS: dict[str, tuple[str, str]] = {
    "pending": ("·", "dim"),
    "cached": ("◇", "cyan"),
    "running": ("▶", "bold yellow"),
    "done": ("✔", "green"),
    "failed": ("✘", "bold red"),
}

PROMPT_GLYPHS: dict[str, tuple[str, str]] = {
    "pending": ("…", "dim"),
    "running": ("▶", "bold yellow"),
    "success": ("✔", "green"),
    "cached": ("◇", "cyan"),
    "failed": ("✘", "bold red"),
    "interrupted": ("■", "magenta"),
    "unknown": ("?", "dim"),
}

STATE_STYLES: dict[str, str] = {
    "connected": "bold green",
    "connecting": "yellow",
    "reconnecting": "bold yellow",
    "offline": "bold red",
}


def short_id(prompt_id: str, n: int = 8) -> str:
    """The first `n` characters of a prompt id."""
    return prompt_id[:n]


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5K'; None -> '-'."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # pragma: no cover


def duration(seconds: float | None) -> str:
    """A compact duration: '0.31s', '12.4s', '3m05s', '2h04m'; None -> '-'."""
    if seconds is None:
        return "-"
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.2f}s"
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        m, sec = divmod(int(s), 60)
        return f"{m}m{sec:02d}s"
    h, rem = divmod(int(s), 3600)
    return f"{h}h{rem // 60:02d}m"


def age(since: float | None, now: float) -> str:
    """How long ago `since` (epoch seconds) was: '5s', '3m', '2h', '4d'."""
    if since is None:
        return "-"
    s = max(0, int(now - since))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def bar(value: float, maximum: float, width: int) -> str:
    """A text progress bar of `width` cells using eighth blocks."""
    width = max(1, width)
    frac = 0.0 if maximum <= 0 else min(1.0, max(0.0, value / maximum))
    eighths = round(frac * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    return ("█" * full + partial).ljust(width, " ")[:width]


def number(n: float | int | None) -> str:
    """Queue numbers are floats on the wire; show integers without '.0'."""
    if n is None:
        return "-"
    f = float(n)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def truncate(text: str, width: int) -> str:
    """Cut `text` to `width` cells with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _not_sampler(node: Any) -> bool:
    """Sort key putting sampler nodes first (their seed/steps/cfg are the ones that matter)."""
    return not (isinstance(node, dict) and "Sampler" in str(node.get("class_type", "")))


def prompt_inputs(prompt: dict[str, Any]) -> dict[str, str]:
    """The human-interesting inputs of an API-format prompt: text, seed, steps, cfg, sampler, size, model."""
    found: dict[str, str] = {}
    texts: list[str] = []
    nodes = sorted(prompt.values(), key=_not_sampler)
    for node in nodes:
        if not isinstance(node, dict):
            continue
        cls = str(node.get("class_type", ""))
        inputs = node.get("inputs") or {}
        if not isinstance(inputs, dict):
            continue
        for key in ("text", "prompt", "positive"):
            value = inputs.get(key)
            if isinstance(value, str) and value.strip():
                title = str((node.get("_meta") or {}).get("title") or cls)
                texts.append(f"{title}: {value}")
        for key, label in (
            ("seed", "seed"),
            ("noise_seed", "seed"),
            ("steps", "steps"),
            ("cfg", "cfg"),
            ("sampler_name", "sampler"),
            ("scheduler", "scheduler"),
            ("denoise", "denoise"),
            ("ckpt_name", "model"),
        ):
            value = inputs.get(key)
            if value is not None and not isinstance(value, list) and label not in found:
                found[label] = str(value)
        w, h = inputs.get("width"), inputs.get("height")
        if isinstance(w, int) and isinstance(h, int) and "size" not in found:
            batch = inputs.get("batch_size")
            found["size"] = f"{w}×{h}" + (f" ×{batch}" if isinstance(batch, int) and batch > 1 else "")
    if texts:
        found = {"prompt": "\n".join(texts), **found}
    return found


def node_depths(prompt: dict[str, Any]) -> dict[str, int]:
    """Longest-path depth of every node from the graph's sources (links are `[src_id, slot]`)."""
    deps: dict[str, set[str]] = {}
    for nid, node in prompt.items():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        srcs: set[str] = set()
        for value in (inputs or {}).values() if isinstance(inputs, dict) else ():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                srcs.add(str(value[0]))
        deps[str(nid)] = srcs
    depth: dict[str, int] = {}

    def visit(nid: str, stack: frozenset[str]) -> int:
        if nid in depth:
            return depth[nid]
        if nid in stack:
            return 0
        d = 0
        for src in deps.get(nid, ()):
            if src in deps:
                d = max(d, visit(src, stack | {nid}) + 1)
        depth[nid] = d
        return d

    for nid in deps:
        visit(nid, frozenset())
    return depth


def upstream(prompt: dict[str, Any], node_id: str) -> list[str]:
    """Ids of the nodes feeding `node_id`, in input order."""
    node = prompt.get(node_id)
    inputs = node.get("inputs") if isinstance(node, dict) else None
    out: list[str] = []
    for value in (inputs or {}).values() if isinstance(inputs, dict) else ():
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) and str(value[0]) not in out:
            out.append(str(value[0]))
    return out
