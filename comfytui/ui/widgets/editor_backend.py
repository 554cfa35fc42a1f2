"""What the editor needs from a server, as one small object the app hands over (the editor never does I/O itself).

``EditorBackend`` is the protocol; ``SessionBackend`` implements it over the dashboard's ``LiveSession`` (so
submissions show up in the dashboard as this app's prompts) and adds reruns that put the configured API key back
into ``extra_data`` where history stripped or redacted it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from comfytui.config import with_api_key, without_secrets
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import Workflow

if TYPE_CHECKING:
    from comfytui.client.models import OutputFile, SubmitResult
    from comfytui.live import LiveSession

__all__ = ["EditorBackend", "SessionBackend", "resubmit_extra"]

#: extra_data keys the server fills in itself; never sent back
SERVER_EXTRA = ("client_id", "create_time")


def resubmit_extra(extra_data: dict[str, Any] | None, api_key: str | None) -> dict[str, Any]:
    """``extra_data`` of an earlier prompt made ready to send again: server keys dropped, the API key put back."""
    extra = {k: v for k, v in (extra_data or {}).items() if k not in SERVER_EXTRA}
    return with_api_key(extra, api_key)


class EditorBackend(Protocol):
    """The editor's only way to the server."""

    async def object_info(self) -> ObjectInfo:
        """The node catalogue (cached)."""
        ...

    async def submit(self, prompt: dict[str, Any], *, front: bool, extra_data: dict[str, Any]) -> SubmitResult:
        """Queue a prompt (``extra_data`` without the key: the backend adds it); raises ``PromptRejected``."""
        ...

    async def upload_image(self, path: Path) -> OutputFile:
        """Upload a local image to the server's input folder."""
        ...

    async def prompt_of(self, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The graph and extra data of a known prompt (any client's)."""
        ...


class SessionBackend:
    """``EditorBackend`` over a ``LiveSession``; ``api_key`` goes into every submission, nowhere else."""

    def __init__(self, session: LiveSession, api_key: str | None = None) -> None:
        self.session = session
        self._api_key = api_key
        self._info: ObjectInfo | None = None

    def __repr__(self) -> str:
        return f"SessionBackend({self.session.base_url!r})"

    async def object_info(self) -> ObjectInfo:
        if self._info is None:
            self._info = ObjectInfo(await self.session.client.object_info())
        return self._info

    def forget_object_info(self) -> None:
        """Fetch the catalogue again next time (after uploads the LoadImage choices change)."""
        self._info = None

    async def submit(self, prompt: dict[str, Any], *, front: bool, extra_data: dict[str, Any]) -> SubmitResult:
        extra = resubmit_extra(without_secrets(extra_data), self._api_key)
        return await self.session.submit(prompt, front=front, extra_data=extra or None)

    async def upload_image(self, path: Path) -> OutputFile:
        return await self.session.client.upload_image(Path(path))

    async def prompt_of(self, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        prompt, extra = await self.session.prompt_of(prompt_id)
        return prompt, without_secrets(extra)

    async def rerun(self, prompt_id: str, *, new_seed: bool = False) -> SubmitResult:
        """Queue a prompt from history or the queue again (any client's), optionally with a new random seed."""
        from comfytui.live import random_seed

        prompt, extra = await self.session.prompt_of(prompt_id)
        if new_seed:
            info = await self.object_info()
            prompt = Workflow.from_dict(prompt).with_seed(random_seed(), info).to_api()
        extra = resubmit_extra(without_secrets(extra), self._api_key)
        return await self.session.submit(prompt, extra_data=extra or None)
