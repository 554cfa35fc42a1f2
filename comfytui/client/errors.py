"""Exceptions raised by the ComfyUI client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ComfyError", "InputError", "PromptRejected", "ServerError", "ServerUnreachable"]


class ComfyError(Exception):
    """Base class of every client error."""


class ServerUnreachable(ComfyError):
    """The server could not be reached (connection refused, DNS, TLS, timeout)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach ComfyUI at {url}: {reason}")
        self.url = url
        self.reason = reason


class ServerError(ComfyError):
    """The server answered with a non-2xx status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        snippet = " ".join(body.split())[:300]
        super().__init__(f"{method} {url} -> HTTP {status}" + (f": {snippet}" if snippet else ""))
        self.method = method
        self.url = url
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class InputError:
    """One validation error of one node (usually about one input)."""

    node_id: str
    class_type: str
    type: str
    message: str
    details: str = ""
    input_name: str | None = None
    received_value: Any = None

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.class_type})"
        if self.input_name:
            where += f" input '{self.input_name}'"
        text = f"{where}: {self.type}: {self.message}"
        details = self.details
        if self.input_name and details.startswith(f"{self.input_name}: "):
            details = details[len(self.input_name) + 2 :]
        if details and details != self.input_name and details not in self.message:
            text += f" ({details})"
        return text


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_node_errors(raw: Any) -> dict[str, list[InputError]]:
    """Turn the server's ``node_errors`` into ``{node_id: [InputError]}``; never raises."""
    result: dict[str, list[InputError]] = {}
    for node_id, entry in _dict(raw).items():
        e = _dict(entry)
        class_type = str(e.get("class_type", "?"))
        errs: list[InputError] = []
        raw_errs = e.get("errors")
        for err in raw_errs if isinstance(raw_errs, list) else []:
            d = _dict(err)
            extra = _dict(d.get("extra_info"))
            name = extra.get("input_name")
            errs.append(
                InputError(
                    node_id=str(node_id),
                    class_type=class_type,
                    type=str(d.get("type", "error")),
                    message=str(d.get("message", "")),
                    details=str(d.get("details", "") or ""),
                    input_name=None if name is None else str(name),
                    received_value=extra.get("received_value"),
                )
            )
        result[str(node_id)] = errs
    return result


class PromptRejected(ComfyError):
    """``POST /prompt`` answered 400: the prompt failed validation."""

    def __init__(self, body: Any, status: int = 400) -> None:
        d = _dict(body)
        err = d.get("error")
        if isinstance(err, str):  # some proxies / older servers
            err = {"type": "error", "message": err}
        self.error: dict[str, Any] = _dict(err)
        self.node_errors: dict[str, list[InputError]] = parse_node_errors(d.get("node_errors"))
        self.status = status
        self.body = body
        super().__init__(self._render())

    @property
    def type(self) -> str:
        return str(self.error.get("type", "error"))

    @property
    def errors(self) -> list[InputError]:
        """All input errors, flattened."""
        return [e for errs in self.node_errors.values() for e in errs]

    def _render(self) -> str:
        message = str(self.error.get("message", "prompt rejected"))
        details = str(self.error.get("details", "") or "")
        head = f"{self.type}: {message}"
        if details and not self.node_errors and details not in message:
            head += f" - {details}"
        lines = [head, *(str(e) for e in self.errors)]
        return "\n".join(lines)
