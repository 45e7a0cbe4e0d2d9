"""How much a busy machine held up a test's event loop, for the tests on the real clock.

A time measured on the real clock is the truth plus what the machine added: the work of
the HTTP stack and the event loop (small and steady on an idle machine) and, on a busy
one, the moments the process waited for a CPU. The second part cannot be known in
advance, so a test that must run on the real clock watches it: `LoopLag.watch` sleeps
1 ms at a time in the background and records how late each wake-up came. A stall that
held up a measurement held up those wake-ups too, so a tolerance widened by what they
showed holds on a busy machine and stays tight on an idle one (`Timing`).

In virtual time (a MockClock that jumps ahead whenever every task waits) none of this is
needed: measured times equal the truth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio

PERIOD = 0.001  # seconds between the watcher's wake-ups
STALL = 0.001  # a wake-up later than this counts toward `LoopLag.stalled`
EXACT = 1e-9  # seconds: float rounding in sums of exact virtual times


@attrs.define
class LoopLag:
    """How late the event loop woke from 1 ms sleeps while `watch` ran."""

    worst: float = 0.0  # seconds, the latest wake-up
    stalled: float = 0.0  # seconds, the sum of the wake-ups later than `STALL`
    wakeups: int = 0

    async def watch(self) -> None:
        """Sleep `PERIOD` at a time and record each wake-up's lateness, until cancelled."""
        while True:
            before = trio.current_time()
            await trio.sleep(PERIOD)
            late = max(0.0, trio.current_time() - before - PERIOD)
            self.wakeups += 1
            self.worst = max(self.worst, late)
            if late > STALL:
                self.stalled += late


@asynccontextmanager
async def watching() -> AsyncIterator[LoopLag]:
    """A `LoopLag` watched in the background for the duration of the block."""
    lag = LoopLag()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lag.watch)
        yield lag
        nursery.cancel_scope.cancel()


@attrs.frozen
class Timing:
    """How far above its truth a time measured in this test may lie: nothing in virtual
    time; on the real clock what an idle machine adds (`calm`, chosen per check) plus
    what the event loop's lag showed this machine added during the test."""

    virtual: bool
    lag: LoopLag

    def late(self, calm: float) -> float:
        """For one arrival, or a gap or median of arrivals: `calm` plus the worst lag."""
        return EXACT if self.virtual else calm + self.lag.worst
