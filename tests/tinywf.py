"""The demo workflows the server tests submit, with fresh seeds so nothing is served from ComfyUI's cache."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


def load(name: str) -> dict[str, Any]:
    prompt: dict[str, Any] = json.loads((WORKFLOWS / name).read_text())
    return prompt


def _seeded(prompt: dict[str, Any], seed: int | None, vary_model: bool) -> dict[str, Any]:
    seed = random.randrange(1 << 30) if seed is None else seed
    prompt["5"]["inputs"]["seed"] = seed
    if vary_model:  # the loader's weights seed too: node 1 runs again instead of being cached
        prompt["1"]["inputs"]["seed"] = seed
    return prompt


def tiny(seed: int | None = None, text: str | None = None, *, vary_model: bool = False) -> dict[str, Any]:
    """tiny_txt2img (64×64, 8 steps, ~0.3 s)."""
    prompt = _seeded(load("tiny_txt2img.json"), seed, vary_model)
    if text is not None:
        prompt["2"]["inputs"]["text"] = text
    return prompt


def slow(*, vary_model: bool = False) -> dict[str, Any]:
    """tiny_slow (512×512, 200 steps): still sampling seconds after it starts."""
    return _seeded(load("tiny_slow.json"), None, vary_model)
