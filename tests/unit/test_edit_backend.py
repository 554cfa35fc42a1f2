"""The editor's backend over a LiveSession: the API key goes into submissions and reruns, nowhere else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from comfytui.client.models import SubmitResult
from comfytui.core.object_info import ObjectInfo
from comfytui.ui.widgets.editor_backend import SessionBackend, resubmit_extra

ROOT = Path(__file__).resolve().parents[2]
KEY = "comfyui-SECRET"


class StubClient:
    async def object_info(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "object_info.json").read_text())
        return data


class StubSession:
    """What SessionBackend uses of a LiveSession."""

    base_url = "http://stub"

    def __init__(self, prompt: dict[str, Any], extra: dict[str, Any]) -> None:
        self.client = StubClient()
        self.stored = (prompt, extra)
        self.sent: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    async def prompt_of(self, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.stored

    async def submit(
        self, prompt: dict[str, Any], *, front: bool = False, extra_data: dict[str, Any] | None = None
    ) -> SubmitResult:
        self.sent.append((prompt, extra_data))
        return SubmitResult("p", 1)


def prompt() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "workflows" / "tiny_txt2img.json").read_text())
    return data


def test_resubmit_extra_drops_server_keys_and_restores_the_key() -> None:
    extra = {"client_id": "x", "create_time": 1, "api_key_comfy_org": "[REDACTED]", "extra_pnginfo": {}}
    assert resubmit_extra(extra, KEY) == {"api_key_comfy_org": KEY, "extra_pnginfo": {}}
    assert resubmit_extra(extra, None) == {"extra_pnginfo": {}}


async def test_rerun_puts_the_key_back_and_new_seed_changes_only_the_sampler_seed() -> None:
    session = StubSession(prompt(), {"client_id": "other", "api_key_comfy_org": "[REDACTED]"})
    backend = SessionBackend(session, api_key=KEY)  # type: ignore[arg-type]
    assert KEY not in repr(backend)
    await backend.rerun("p")
    await backend.rerun("p", new_seed=True)
    (same, extra1), (seeded, extra2) = session.sent
    assert extra1 == extra2 == {"api_key_comfy_org": KEY}
    assert same == prompt()
    assert seeded["5"]["inputs"]["seed"] != 42 and seeded["1"]["inputs"]["seed"] == 0
    assert isinstance(await backend.object_info(), ObjectInfo)


async def test_prompt_of_never_hands_secrets_to_the_editor() -> None:
    session = StubSession(prompt(), {"api_key_comfy_org": KEY, "auth_token_comfy_org": "t", "x": 1})
    backend = SessionBackend(session, api_key=None)  # type: ignore[arg-type]
    _graph, extra = await backend.prompt_of("p")
    assert extra == {"x": 1}
    await backend.submit(prompt(), front=False, extra_data={"api_key_comfy_org": "typed-in"})
    assert session.sent[-1][1] is None  # no configured key: nothing sent, not even one smuggled in extra_data
