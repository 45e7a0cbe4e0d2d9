"""Ctrl-C and SIGTERM for every run in the process: one handler, shared, restored after the last.

Each run watches the signals while it sends (`watch_signals`). Runs may
overlap in any order (side by side in one trio run, or on one asyncio loop),
so the process's handlers are replaced when the first run starts watching and
put back when the last one stops; a signal reaches every run watching then.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import trio

__all__ = ["SIGNALS", "watch_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_watchers: list[Callable[[str], None]] = []
_saved: dict[int, Any] = {}  # the handlers before the first run, put back after the last


@contextmanager
def watch_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """In the block, call ``on_signal(name)`` in this trio run on SIGINT or SIGTERM.

    Only the main thread can catch signals; call it there.
    """
    token = trio.lowlevel.current_trio_token()

    def deliver(name: str) -> None:
        token.run_sync_soon(on_signal, name)

    if not _watchers:
        for signum in SIGNALS:
            _saved[signum] = signal.signal(signum, _handler)
    _watchers.append(deliver)
    try:
        yield
    finally:
        _watchers.remove(deliver)
        if not _watchers:
            for number, handler in _saved.items():
                signal.signal(number, handler)
            _saved.clear()


def _handler(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    for deliver in list(_watchers):
        deliver(name)
