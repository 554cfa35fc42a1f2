"""ComfyUI client: HTTP (``ComfyClient``), WebSocket (``EventStream``), typed events and models. No Textual here."""

from comfytui.client import events
from comfytui.client.errors import ComfyError, InputError, PromptRejected, ServerError, ServerUnreachable
from comfytui.client.events import Event, LogEntry
from comfytui.client.http import ComfyClient
from comfytui.client.models import (
    Device,
    HistoryEntry,
    OutputFile,
    QueueItem,
    QueueSnapshot,
    SubmitResult,
    SystemStats,
)
from comfytui.client.ws import EventStream

__all__ = [
    "ComfyClient",
    "ComfyError",
    "Device",
    "Event",
    "EventStream",
    "HistoryEntry",
    "InputError",
    "LogEntry",
    "OutputFile",
    "PromptRejected",
    "QueueItem",
    "QueueSnapshot",
    "ServerError",
    "ServerUnreachable",
    "SubmitResult",
    "SystemStats",
    "events",
]
