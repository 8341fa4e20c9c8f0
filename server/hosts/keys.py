"""Redis keys of host accounts, sessions and login attempts (none need a shared slot)."""

from __future__ import annotations

PREFIX = "ls"
#: Set of every host id.
HOSTS = f"{PREFIX}:hosts"


def host(host_id: str) -> str:
    """Hash: host_id, display_name, password (scrypt), created_at."""
    return f"{PREFIX}:host:{host_id}"


def host_tokens(host_id: str) -> str:
    """Hash: API token digest -> "label:created_at ms"."""
    return f"{PREFIX}:host:{host_id}:tokens"


def host_shows(host_id: str) -> str:
    """Sorted set of the host's rooms, scored by creation time."""
    return f"{PREFIX}:host:{host_id}:shows"


def api_token(digest: str) -> str:
    """String: the host id an API token (by its SHA-256) belongs to."""
    return f"{PREFIX}:host-token:{digest}"


def session(session_id: str) -> str:
    """Hash: host_id, csrf, created_at; expires with the session. A session ended by a new
    password keeps only ``ended`` until then, so its cookie can be told why."""
    return f"{PREFIX}:session:{session_id}"


def host_sessions(host_id: str) -> str:
    """Set of the host's session ids, to end them all (some may have expired already)."""
    return f"{PREFIX}:host:{host_id}:sessions"


def login_failures(kind: str, who: str) -> str:
    """Login attempts of one account or address (``kind``: account or address)."""
    return f"{PREFIX}:login-failures:{kind}:{who}"
