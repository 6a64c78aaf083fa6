"""URL rules shared by config objects: where plain http is acceptable."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit


def is_loopback_host(host: str | None) -> bool:
    """`localhost` or a loopback IP: traffic that never leaves this machine, where plain http is harmless."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_plain_http_off_machine(parts: SplitResult) -> bool:
    """Plain http to anywhere but this machine: what carries a secret or a key in the clear."""
    return parts.scheme == "http" and not is_loopback_host(parts.hostname)


def api_base_url(value: str, setting: str, default: str) -> str:
    """A platform API URL from `setting`: https (plain http only to this machine), without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or is_plain_http_off_machine(parts):
        raise ValueError(f"{value!r} is not an https URL (plain http only for localhost). Fix: remove {setting} to "
                         f"use {default}")
    return value.strip().rstrip("/")
