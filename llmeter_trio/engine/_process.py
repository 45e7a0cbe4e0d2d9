"""What the load generator's process holds right now: resident memory and open connections.

Read from the operating system (``/proc`` on Linux) without a dependency; where
that is not available each reading is None.
"""

from __future__ import annotations

import os
import resource
import socket
import sys

__all__ = ["open_connections", "resident_memory"]

_FD_FOLDER = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory() -> int | None:
    """Bytes of memory the process holds now (RSS); elsewhere than Linux, its peak."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB


def open_connections() -> int | None:
    """TCP connections this process opened and holds now (those it accepted, as a server
    in the same process, are not counted); None where sockets cannot be listed."""
    try:
        names = os.listdir(_FD_FOLDER)
    except OSError:
        return None
    listening: set[int] = set()
    connected: list[int] = []
    for name in names:
        try:
            fd = int(name)
            if _FD_FOLDER.startswith("/proc") and not os.readlink(
                f"{_FD_FOLDER}/{name}"
            ).startswith("socket:"):
                continue
            sock = socket.socket(fileno=fd)
        except (OSError, ValueError):
            continue
        try:  # never closed here: detached below, the descriptor stays its owner's
            if sock.type != socket.SOCK_STREAM or sock.family not in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                continue
            port = sock.getsockname()[1]
            try:
                sock.getpeername()
            except OSError:  # not connected: a listening socket (or one still connecting)
                listening.add(port)
                continue
            connected.append(port)
        except OSError:
            continue
        finally:
            sock.detach()
    return sum(1 for port in connected if port not in listening)
