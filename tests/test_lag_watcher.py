"""The event-loop lag watcher whose findings widen real-clock bounds (tests/_support/lag.py)."""

from __future__ import annotations

import time

import pytest
import trio
import trio.testing

from ._support.lag import EXACT, PERIOD, LoopLag, Timing, watching


@pytest.mark.realtime
async def test_a_blocked_event_loop_shows_as_lag() -> None:
    """Blocking the loop for 50 ms, as a busy machine would, shows as a wake-up at least
    that late, and counts toward the stalls."""
    async with watching() as lag:
        await trio.sleep(5 * PERIOD)  # the watcher is under way
        time.sleep(0.05)  # noqa: ASYNC251 - blocks the event loop on purpose
        await trio.sleep(5 * PERIOD)
    assert lag.wakeups >= 2
    assert lag.worst >= 0.05 - PERIOD
    assert lag.stalled >= lag.worst


async def test_virtual_time_has_no_lag(autojump_clock: trio.testing.MockClock) -> None:
    """On a MockClock every wake-up is on time, however slow the machine."""
    async with watching() as lag:
        await trio.sleep(100 * PERIOD)
        time.sleep(0.01)  # noqa: ASYNC251 - real time passes; virtual time does not
        await trio.sleep(100 * PERIOD)
    assert lag.wakeups >= 150
    assert lag.worst < EXACT and lag.stalled == 0


def test_bounds_follow_the_clock() -> None:
    """Exact in virtual time; on the real clock, the calm part plus the worst lag seen."""
    lag = LoopLag(worst=0.02, stalled=0.05)
    assert Timing(virtual=True, lag=lag).late(0.01) == EXACT
    assert Timing(virtual=False, lag=lag).late(0.01) == pytest.approx(0.03)
