"""Local persistence: the SQLite run journal of `comfytui run` (no Textual here)."""

from comfytui.store.journal import ItemRecord, Journal, JournalError, RunRecord
from comfytui.store.paths import data_dir, journal_path
from comfytui.store.redact import REDACTED, redact, redact_url

__all__ = [
    "REDACTED",
    "ItemRecord",
    "Journal",
    "JournalError",
    "RunRecord",
    "data_dir",
    "journal_path",
    "redact",
    "redact_url",
]
