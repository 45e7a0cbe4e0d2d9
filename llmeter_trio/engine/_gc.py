"""Garbage collection tuned for the hot path while runs are going on.

Each request allocates many short-lived objects (events, chunks, records), so
the cyclic collector's default first threshold (700 allocations) makes it run
over and over, rescanning everything the process set up before the run. While
any run is going on, set-up objects are frozen out of collection and the first
threshold is raised; both are restored when the last run ends. Reference
counting still frees almost everything at once; only cycles wait longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RUN_GC_THRESHOLD", "tuned_gc"]

RUN_GC_THRESHOLD = 50_000
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def tuned_gc() -> Iterator[None]:
    """Tune the collector for the duration of the block (runs may nest or overlap)."""
    global _active, _saved
    if _active == 0:
        _saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(RUN_GC_THRESHOLD, _saved[0]), *_saved[1:])
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            gc.unfreeze()
            _saved = None
