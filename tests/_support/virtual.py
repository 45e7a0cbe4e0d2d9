"""Virtual time for tests that call `trio.run` themselves (hypothesis tests, sync tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import trio
import trio.testing

T = TypeVar("T")


def run_virtual(async_fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """``async_fn(*args, **kwargs)`` in a new trio run on a MockClock that jumps ahead
    whenever every task waits: as fast as the CPU allows, and every sleep exact."""
    return trio.run(
        partial(async_fn, *args, **kwargs), clock=trio.testing.MockClock(autojump_threshold=0)
    )
