"""The load generator watching itself: event-loop lag, schedule lag and CPU use during a run.

A request measured by a generator that is itself overloaded carries the
generator's delay in its latency. The monitor samples how late the event loop
wakes from a short sleep (event-loop lag), counts how late each request went
out (schedule lag), and measures how much CPU the process used, so a run can
say when it, not the endpoint, was the bottleneck.

Every second it also takes a sample of its own state (`GeneratorMonitor.series`,
saved as ``generator.jsonl``): the share of a CPU core used in that second,
resident memory, open connections and the worst event-loop lag, so a chart
can show when the client, not the server, saturated.

A verdict needs evidence that lasts: lag counts only when it is over the
tolerance in a sustained share of the run's one-second windows (a single pause
of the machine is not a bottleneck), and no verdict is given on less than
`MIN_SECONDS` of run time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import trio

from ..stats import LogHistogram
from ._process import open_connections, resident_memory

__all__ = ["GeneratorMonitor", "LagWindows", "generator_warnings"]

SAMPLE_INTERVAL = 0.01
SERIES_INTERVAL = 1.0  # seconds between two samples of the generator's time series
CPU_LIMIT = 0.9  # of one core: above this the generator is CPU-bound
MIN_SECONDS = 3.0  # less run time than this is too little to judge the generator by
WINDOW = 1.0  # seconds: lag is judged window by window
LATE_SHARE = 0.01  # a window is late when more than this share of its samples were late
SUSTAINED_SHARE = 0.25  # lag is sustained when this share of the windows were late...
MIN_LATE_WINDOWS = 3  # ...and at least this many


class LagWindows:
    """Lag samples counted per one-second window: how many, and how many over the tolerance."""

    __slots__ = ("late", "samples", "tolerance")

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.samples: dict[int, int] = {}
        self.late: dict[int, int] = {}

    def add(self, at: float, lag: float) -> None:
        """A lag of `lag` seconds, observed `at` seconds into the run."""
        window = int(at // WINDOW)
        self.samples[window] = self.samples.get(window, 0) + 1
        if lag > self.tolerance:
            self.late[window] = self.late.get(window, 0) + 1

    def counts(self) -> tuple[int, int]:
        """(windows with samples, late windows)."""
        late = sum(1 for w, n in self.late.items() if n > LATE_SHARE * self.samples[w])
        return len(self.samples), late


def sustained(windows: int | None, late_windows: int | None) -> bool:
    """Whether late windows make up a sustained share of the run (not one pause)."""
    if not windows or late_windows is None:
        return False
    return late_windows >= max(MIN_LATE_WINDOWS, SUSTAINED_SHARE * windows)


class GeneratorMonitor:
    """Samples event-loop lag every 10 ms while `run` is running; counts schedule lag."""

    def __init__(self, lag_tolerance: float) -> None:
        self.loop_lag = LogHistogram()
        self.loop_windows = LagWindows(lag_tolerance)
        self.schedule_windows = LagWindows(lag_tolerance)
        self._cpu_start = time.process_time()
        self._clock_start = trio.current_time()
        self.series: list[dict[str, Any]] = []  # one sample a second (`sample_series`)
        self._lag_since_sample = 0.0

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            before = trio.current_time()
            await trio.sleep(SAMPLE_INTERVAL)
            now = trio.current_time()
            lag = max(0.0, now - before - SAMPLE_INTERVAL)
            self.loop_lag.add(lag)
            self.loop_windows.add(now - self._clock_start, lag)
            self._lag_since_sample = max(self._lag_since_sample, lag)

    async def sample_series(
        self, clock: Callable[[], float], interval: float = SERIES_INTERVAL
    ) -> None:
        """Sample the generator's state every `interval` seconds until cancelled.

        Each sample: ``time`` (`clock`: seconds on the run's clock), ``cpu``
        (share of one core used since the last sample), ``rss_bytes``,
        ``open_connections`` and ``event_loop_lag_max`` (the worst lag seen since
        the last sample, seconds).
        """
        cpu_before, before = time.process_time(), trio.current_time()
        due = before
        while True:
            due += interval
            await trio.sleep_until(due)
            cpu_now, now = time.process_time(), trio.current_time()
            elapsed = now - before
            self.series.append(
                {
                    "time": clock(),
                    "cpu": (cpu_now - cpu_before) / elapsed if elapsed > 0 else None,
                    "rss_bytes": resident_memory(),
                    "open_connections": open_connections(),
                    "event_loop_lag_max": self._lag_since_sample,
                }
            )
            self._lag_since_sample = 0.0
            cpu_before, before = cpu_now, now

    def note_schedule_lag(self, sent: float, lag: float) -> None:
        """A request sent at `sent` (run clock) went out `lag` seconds after it was due."""
        self.schedule_windows.add(sent, lag)

    def report(self) -> dict[str, Any]:
        """Event-loop lag percentiles, late windows, and the share of one CPU core used."""
        elapsed = trio.current_time() - self._clock_start
        cpu = time.process_time() - self._cpu_start
        lag = self.loop_lag.summary()
        loop_windows, loop_late = self.loop_windows.counts()
        schedule_windows, schedule_late = self.schedule_windows.counts()
        return {
            "event_loop_lag_p99": lag.get("p99"),
            "event_loop_lag_max": lag.get("max"),
            "cpu_utilization": cpu / elapsed if elapsed > 0 else None,
            "monitored_seconds": elapsed,
            "event_loop_windows": loop_windows,
            "event_loop_late_windows": loop_late,
            "schedule_lag_windows": schedule_windows,
            "schedule_lag_late_windows": schedule_late,
        }


def generator_warnings(
    health: dict[str, Any], stats: dict[str, Any], lag_tolerance: float, rate_tolerance: float
) -> list[str]:
    """Why the generator, not the endpoint, may have set the numbers (empty when all is well).

    Each verdict needs `MIN_SECONDS` of run time; a lag verdict, and a rate
    below the intended one, also need the lag over `lag_tolerance` in a
    sustained share of the run's windows.
    """
    seconds = health.get("monitored_seconds")
    if seconds is None or seconds < MIN_SECONDS:
        return []
    warnings = []
    lag = stats.get("schedule_lag-p99")
    behind = sustained(health.get("schedule_lag_windows"), health.get("schedule_lag_late_windows"))
    if lag is not None and lag > lag_tolerance and behind:
        warnings.append(
            f"schedule lag p99 is {lag * 1000:.1f} ms (tolerance {lag_tolerance * 1000:.0f} ms), "
            f"late in {health['schedule_lag_late_windows']} of {health['schedule_lag_windows']} "
            "seconds: requests went out late; latency from the intended time includes that wait"
        )
    intended, achieved = stats.get("intended_request_rate"), stats.get("achieved_request_rate")
    if behind and intended and achieved is not None and achieved < intended * (1 - rate_tolerance):
        warnings.append(
            f"achieved {achieved:.2f} req/s of the {intended:.2f} req/s intended "
            f"(tolerance {rate_tolerance:.0%})"
        )
    loop_lag = health.get("event_loop_lag_p99")
    late = sustained(health.get("event_loop_windows"), health.get("event_loop_late_windows"))
    if loop_lag is not None and loop_lag > lag_tolerance and late:
        warnings.append(
            f"event-loop lag p99 is {loop_lag * 1000:.1f} ms, late in "
            f"{health['event_loop_late_windows']} of {health['event_loop_windows']} seconds: "
            "the generator was too busy to take timestamps on time"
        )
    cpu = health.get("cpu_utilization")
    if cpu is not None and cpu > CPU_LIMIT:
        warnings.append(f"the generator used {cpu:.0%} of a CPU core: it was CPU-bound")
    return warnings
