"""Keep secrets out of anything written or printed: API keys, tokens, passwords, URL credentials."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_url"]

REDACTED = "***"
_SECRET = re.compile(r"(^|_)(api_?key|token|secret|passw(or)?d|credentials?|authorization|cookie)($|_)")


def is_secret_key(key: str) -> bool:
    """True for names that usually hold a secret (``api_key_comfy_org``, ``auth_token``, ``password``...)."""
    return bool(_SECRET.search(key.lower().replace("-", "_")))


def redact(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def redact_url(url: str) -> str:
    """The URL without ``user:password@`` and with secret-looking query parameters masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = [(k, REDACTED if is_secret_key(k) else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
