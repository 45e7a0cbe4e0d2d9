"""Refuse every connection and name lookup beyond the loopback interface, and remember them.

`install` patches the `socket` module for the whole process (the tests'
conftest does it before anything imports litellm; a subprocess test does it
first thing), so an attempt to reach the network fails at once, with its
address in `ATTEMPTS`, instead of waiting on a network that may not be there.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["ATTEMPTS", "LOOPBACK", "install"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
ATTEMPTS: list[str] = []


def _refuse(what: str) -> OSError:
    ATTEMPTS.append(what)
    return OSError(f"tests reach loopback only, not {what}")


def _host_of(address: Any) -> str | None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None  # a Unix socket path


def install() -> None:
    """Patch `socket` so that only loopback addresses can be reached (idempotent)."""
    if getattr(socket, "_loopback_only", False):
        return
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def checked_connect(self: socket.socket, address: Any) -> None:
        host = _host_of(address)
        if host is not None and host not in LOOPBACK:
            raise _refuse(f"connect {address!r}")
        connect(self, address)

    def checked_connect_ex(self: socket.socket, address: Any) -> int:
        host = _host_of(address)
        if host is not None and host not in LOOPBACK:
            raise _refuse(f"connect {address!r}")
        return connect_ex(self, address)

    def checked_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK:
            raise _refuse(f"name lookup {name!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = checked_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = checked_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = checked_getaddrinfo
    socket._loopback_only = True  # type: ignore[attr-defined]
