"""Checking an endpoint's `base_url` when the endpoint is made, not request by request."""

from __future__ import annotations

from typing import Any

import attrs
import httpx

__all__ = ["check_base_url", "valid_base_url"]

_EXAMPLE = "e.g. http://127.0.0.1:8000/v1"


def check_base_url(url: object, name: str = "base_url") -> None:
    """Refuse a URL no request could reach: empty, no http(s) scheme, no host, a bad port.

    The message never repeats the URL, which may carry credentials.
    """
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a string, not {type(url).__name__}")
    if not url.strip():
        raise ValueError(f"{name} is empty: give the API root, {_EXAMPLE}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{name} is not a valid URL ({exc}); {_EXAMPLE}") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"{name} must start with http:// or https://, {_EXAMPLE}")
    if not parsed.host:
        raise ValueError(f"{name} names no host, {_EXAMPLE}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"{name} has port {parsed.port}: a port is a number from 1 to 65535")


def valid_base_url(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """`check_base_url` as an attrs validator."""
    check_base_url(value, attribute.name)
