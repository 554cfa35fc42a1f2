"""Planning a batch: workflow × seeds × prompts × count → a list of concrete API graphs.

``--seed N`` starts at N and counts up (one seed per ``--count``), ``--seed A..B`` sweeps every seed from A to B,
``--seed random`` draws ``--count`` random seeds; with no ``--seed`` the workflow's own seed is used (and counts up
when ``--count`` > 1). Every prompt line of ``--prompts FILE`` is combined with every seed.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_SEED",
    "PlanError",
    "PlannedItem",
    "SeedSpec",
    "find_prompt_input",
    "parse_seed_spec",
    "plan_batch",
    "read_prompts",
    "seed_inputs",
]

MAX_SEED = 2**64 - 1
SEED_NAMES = ("seed", "noise_seed")
MAX_ITEMS = 100_000


class PlanError(ValueError):
    """A one-line, user-facing problem with the batch options."""


@dataclass(frozen=True, slots=True)
class SeedSpec:
    """``fixed`` (start, counting up with --count), ``range`` (start..stop) or ``random``."""

    kind: str
    start: int = 0
    stop: int = 0

    def seeds(self, count: int, rng: random.Random | None = None) -> list[int]:
        if self.kind == "range":
            return list(range(self.start, self.stop + 1))
        if self.kind == "random":
            r = rng or random.SystemRandom()
            return [r.randrange(0, 2**53) for _ in range(count)]
        return [min(MAX_SEED, self.start + i) for i in range(count)]


def _seed_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise PlanError(f"bad seed {text.strip()!r}: use N, A..B or random") from None
    if not 0 <= value <= MAX_SEED:
        raise PlanError(f"seed {value} is out of range (0..{MAX_SEED})")
    return value


def parse_seed_spec(text: str) -> SeedSpec:
    """``42`` | ``random`` | ``10..20`` → SeedSpec; raises PlanError."""
    t = text.strip().lower()
    if t in ("random", "rand", "rnd"):
        return SeedSpec("random")
    m = re.fullmatch(r"(.+?)(?:\.\.|-|:)(.+)", t) if not t.lstrip("-").isdigit() else None
    if m:
        a, b = _seed_int(m.group(1)), _seed_int(m.group(2))
        if b < a:
            raise PlanError(f"seed range {text!r} is empty (end before start)")
        if b - a + 1 > MAX_ITEMS:
            raise PlanError(f"seed range {text!r} is too large (at most {MAX_ITEMS} seeds)")
        return SeedSpec("range", a, b)
    return SeedSpec("fixed", _seed_int(t))


def read_prompts(path: Path) -> list[str]:
    """One prompt per line; blank lines and lines starting with ``#`` are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"prompts file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read prompts file {path}: {exc}") from None
    lines = [ln.strip() for ln in text.splitlines()]
    prompts = [ln for ln in lines if ln and not ln.startswith("#")]
    if not prompts:
        raise PlanError(f"prompts file {path} has no prompts (one per line)")
    return prompts


def seed_inputs(graph: dict[str, Any]) -> list[tuple[str, str]]:
    """``(node_id, input)`` of the literal seed inputs (``seed``/``noise_seed`` holding an int) that drive sampling.

    Seeds of samplers and noise nodes are preferred, so a loader's own ``seed`` (e.g. weights) is left alone.
    """
    found: list[tuple[str, str]] = []
    sampling: list[tuple[str, str]] = []
    for node_id, node in graph.items():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(inputs, dict):
            continue
        for name in SEED_NAMES:
            value = inputs.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                found.append((str(node_id), name))
                kind = str(node.get("class_type", "")).lower()
                if "sampler" in kind or "noise" in kind or "steps" in inputs or name == "noise_seed":
                    sampling.append((str(node_id), name))
    return sampling or found


def _title(node: Any) -> str:
    meta = node.get("_meta") if isinstance(node, dict) else None
    return str(meta.get("title", "")) if isinstance(meta, dict) else ""


def find_prompt_input(graph: dict[str, Any], ref: str | None = None) -> tuple[str, str]:
    """Which ``(node_id, input)`` a ``--prompts`` line goes into.

    ``ref`` is ``NODE.INPUT`` (node id or title). Otherwise: a node titled "Positive" with a ``text`` input, else the
    text encoder feeding a sampler's ``positive`` input, else the only literal ``text`` input.
    """
    if ref:
        node_ref, dot, input_name = ref.rpartition(".")
        if not dot or not node_ref or not input_name:
            raise PlanError(f"--prompt-input {ref!r} must look like NODE.INPUT")
        ids = [nid for nid in graph if nid == node_ref] or [nid for nid in graph if _title(graph[nid]) == node_ref]
        if not ids:
            raise PlanError(f"--prompt-input: no node with id or title {node_ref!r}")
        if len(ids) > 1:
            raise PlanError(f"--prompt-input: several nodes are titled {node_ref!r}; use the node id")
        if input_name not in (graph[ids[0]].get("inputs") or {}):
            raise PlanError(f"--prompt-input: node {ids[0]} has no input {input_name!r}")
        return ids[0], input_name
    texts = [
        (str(nid), "text")
        for nid, node in graph.items()
        if isinstance(node, dict) and isinstance((node.get("inputs") or {}).get("text"), str)
    ]
    for nid, name in texts:
        if _title(graph[nid]).strip().lower() in ("positive", "positive prompt", "prompt"):
            return nid, name
    for node in graph.values():
        link = (node.get("inputs") or {}).get("positive") if isinstance(node, dict) else None
        if isinstance(link, list) and link and (str(link[0]), "text") in texts:
            return str(link[0]), "text"
    if len(texts) == 1:
        return texts[0]
    raise PlanError("cannot tell which input the prompts go into; give --prompt-input NODE.INPUT")


@dataclass(slots=True)
class PlannedItem:
    """One prompt of the batch, ready to submit."""

    index: int
    graph: dict[str, Any]
    seed: int | None = None
    text: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


def plan_batch(
    graph: dict[str, Any],
    *,
    seed: SeedSpec | None = None,
    count: int | None = None,
    prompts: list[str] | None = None,
    prompt_input: tuple[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    rng: random.Random | None = None,
) -> list[PlannedItem]:
    """Expand the batch; ``graph`` already has ``--set`` overrides applied (listed in ``overrides``)."""
    if count is not None and count < 1:
        raise PlanError("--count must be at least 1")
    if seed is not None and seed.kind == "range" and count not in (None, 1):
        raise PlanError("--count cannot be combined with a seed range (the range sets the number of images)")
    n = count or 1
    targets = seed_inputs(graph)
    if seed is not None and not targets:
        raise PlanError("--seed given but the workflow has no seed input (seed / noise_seed)")
    if seed is not None:
        seeds: list[int | None] = list(seed.seeds(n, rng))
    elif targets:
        nid, name = targets[0]
        base = int(graph[nid]["inputs"][name])
        seeds = [min(MAX_SEED, base + i) for i in range(n)]
    else:
        seeds = [None] * n
    texts: list[str | None] = list(prompts) if prompts else [None]
    if prompts and prompt_input is None:
        prompt_input = find_prompt_input(graph)
    if len(texts) * len(seeds) > MAX_ITEMS:
        raise PlanError(f"the batch would have {len(texts) * len(seeds)} prompts (at most {MAX_ITEMS})")
    items: list[PlannedItem] = []
    for text in texts:
        for s in seeds:
            g = copy.deepcopy(graph)
            inputs = dict(overrides or {})
            if s is not None:
                for nid, name in targets:
                    g[nid]["inputs"][name] = s
            if text is not None and prompt_input is not None:
                nid, name = prompt_input
                g[nid]["inputs"][name] = text
                inputs[f"{nid}.{name}"] = text
            items.append(PlannedItem(index=len(items) + 1, graph=g, seed=s, text=text, inputs=inputs))
    return items
