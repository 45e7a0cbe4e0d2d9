"""Shared test setup: hypothesis profiles, no credentials from outside, and
the clocks a timing test runs on (`clock`, `timing`; see tests/_support/lag.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings

from ._support.lag import LoopLag, Timing, watching

# the everyday runs (the suite's time budget on a shared 2-core machine); HYPOTHESIS_PROFILE=deep
# for a thorough search (ten times the examples), e.g. before a release or after an engine change
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("deep", parent=settings.get_profile("default"), max_examples=400)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,  # CI is repeatable: the same examples every run
    print_blob=True,
)
settings.load_profile(
    "ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "default")
)


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a real key or base URL from the environment they run in."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["virtual", pytest.param("real", marks=pytest.mark.realtime)])
def clock(request: pytest.FixtureRequest) -> trio.testing.MockClock | None:
    """Runs the test twice: in virtual time (a MockClock that jumps ahead whenever every
    task waits, so measured times are exact) and on the real clock (marked ``realtime``).
    Take `timing` too, for the tolerances that go with the clock.

    Virtual time over real loopback sockets holds because the kernel hands bytes sent on
    127.0.0.1 to the receiving socket within the send, before the clock may jump."""
    return trio.testing.MockClock(autojump_threshold=0) if request.param == "virtual" else None


@pytest.fixture
async def timing(clock: trio.testing.MockClock | None) -> AsyncIterator[Timing]:
    """The tolerances of the clock the test runs on; on the real clock, the event loop's
    lag is watched for the whole test to widen them by what the machine showed."""
    if clock is not None:
        assert trio.lowlevel.current_clock() is clock, "the test must take `clock` too"
        yield Timing(virtual=True, lag=LoopLag())
        return
    async with watching() as lag:
        yield Timing(virtual=False, lag=lag)


@pytest.fixture
async def loop_lag() -> AsyncIterator[LoopLag]:
    """The event loop's lag, watched for the whole test (for tests on the real clock)."""
    async with watching() as lag:
        yield lag
