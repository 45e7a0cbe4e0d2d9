"""The generator's verdicts on itself, from synthetic health data: no real clock involved."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint, Runner
from llmeter_trio.engine._monitor import (
    MIN_SECONDS,
    LagWindows,
    generator_warnings,
    sustained,
)
from llmeter_trio.schedules import ConstantRate

TOLERANCE = 0.025


def health(**fields: Any) -> dict[str, Any]:
    """A healthy 60-second run, with `fields` changed."""
    base: dict[str, Any] = {
        "event_loop_lag_p99": 0.001,
        "event_loop_lag_max": 0.002,
        "cpu_utilization": 0.3,
        "monitored_seconds": 60.0,
        "event_loop_windows": 60,
        "event_loop_late_windows": 0,
        "schedule_lag_windows": 60,
        "schedule_lag_late_windows": 0,
    }
    return {**base, **fields}


def stats(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schedule_lag-p99": 0.001,
        "intended_request_rate": 20.0,
        "achieved_request_rate": 20.0,
    }
    return {**base, **fields}


def warnings(health_data: dict[str, Any], stats_data: dict[str, Any]) -> list[str]:
    return generator_warnings(health_data, stats_data, TOLERANCE, 0.05)


class TestLagVerdicts:
    def test_a_healthy_run_has_no_warnings(self) -> None:
        assert warnings(health(), stats()) == []

    def test_one_pause_is_not_a_bottleneck(self) -> None:
        """A p99 over the tolerance from a pause in one or two seconds of the run is no verdict
        (a 20 req/s Poisson run used to exit 3 once in three tries this way)."""
        found = warnings(
            health(event_loop_lag_p99=0.2, event_loop_late_windows=2, schedule_lag_late_windows=2),
            stats(**{"schedule_lag-p99": 0.05}),
        )
        assert found == []

    def test_sustained_schedule_lag_is_a_bottleneck(self) -> None:
        """Lag over the tolerance in a quarter of the seconds is sustained: flagged, with the
        achieved rate short of the intended one."""
        found = warnings(
            health(schedule_lag_late_windows=15),
            stats(**{"schedule_lag-p99": 0.05}, achieved_request_rate=15.0),
        )
        assert len(found) == 2
        assert found[0].startswith("schedule lag p99 is 50.0 ms (tolerance 25 ms), late in 15 of")
        assert found[1].startswith("achieved 15.00 req/s of the 20.00 req/s intended")

    def test_sustained_event_loop_lag_is_a_bottleneck(self) -> None:
        found = warnings(health(event_loop_lag_p99=0.1, event_loop_late_windows=30), stats())
        assert found == [
            "event-loop lag p99 is 100.0 ms, late in 30 of 60 seconds: "
            "the generator was too busy to take timestamps on time"
        ]

    def test_late_windows_without_a_high_p99_are_no_verdict(self) -> None:
        """Both are needed: the p99 over the tolerance, and in a sustained share of windows."""
        assert warnings(health(event_loop_late_windows=30), stats()) == []

    def test_a_rate_shortfall_from_the_last_request_alone_is_no_verdict(self) -> None:
        """The achieved rate compares first and last sends: one late last request is no trend."""
        assert warnings(health(), stats(achieved_request_rate=15.0)) == []


class TestShortRuns:
    def test_cpu_needs_enough_run_time(self) -> None:
        """A 2-request run against a closed port 'used 100% of a core' over 5 ms: no verdict."""
        short = health(monitored_seconds=0.005, cpu_utilization=1.0, event_loop_windows=1)
        assert warnings(short, stats()) == []

    def test_cpu_bound_long_run_is_flagged(self) -> None:
        found = warnings(health(cpu_utilization=0.97), stats())
        assert found == ["the generator used 97% of a CPU core: it was CPU-bound"]

    def test_no_lag_verdict_below_the_minimum_run_time(self) -> None:
        short = health(
            monitored_seconds=MIN_SECONDS / 2,
            event_loop_lag_p99=0.5,
            event_loop_windows=2,
            event_loop_late_windows=2,
        )
        assert warnings(short, stats()) == []

    def test_missing_health_is_no_verdict(self) -> None:
        assert warnings({}, stats(achieved_request_rate=1.0)) == []


class TestWindows:
    @pytest.mark.parametrize(
        ("windows", "late", "expected"),
        [
            (60, 2, False),
            (60, 14, False),
            (60, 15, True),
            (4, 3, True),
            (3, 2, False),
            (0, 0, False),
        ],
    )
    def test_sustained(self, windows: int, late: int, expected: bool) -> None:
        """A quarter of the windows, and at least three of them."""
        assert sustained(windows, late) is expected

    def test_a_window_is_late_when_more_than_one_percent_of_its_samples_were(self) -> None:
        lags = LagWindows(TOLERANCE)
        for i in range(200):  # second 0: 1 late in 100; second 1: 2 late in 100
            lags.add(i / 100, 0.03 if i in (5, 150, 160) else 0.0)
        assert lags.counts() == (2, 1)

    def test_a_stall_makes_its_window_late(self) -> None:
        """A stalled loop takes few samples, but they are late: its window counts."""
        lags = LagWindows(TOLERANCE)
        lags.add(0.5, 0.0)
        lags.add(1.9, 0.9)
        assert lags.counts() == (2, 1)


class TestInARun:
    async def test_a_short_virtual_run_is_never_flagged(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run shorter than the minimum gives no verdict, whatever its CPU share."""
        result = await Runner(FakeEndpoint(time_to_first_token=0.01)).run(
            payload={"prompt": "x"}, schedule=ConstantRate(rate=100), n_requests=20
        )
        assert result.generator["monitored_seconds"] < MIN_SECONDS
        assert result.generator["bottleneck"] is False
        assert result.generator["schedule_lag_windows"] == 1
