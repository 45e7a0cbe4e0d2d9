"""The load generator watching itself: event-loop lag and CPU use during a run.

A request measured by a generator that is itself overloaded carries the
generator's delay in its latency. The monitor samples how late the event loop
wakes from a short sleep (event-loop lag) and how much CPU the process used,
so a run can say when it, not the endpoint, was the bottleneck.
"""

from __future__ import annotations

import time
from typing import Any

import trio

from ..stats import LogHistogram

__all__ = ["GeneratorMonitor", "generator_warnings"]

SAMPLE_INTERVAL = 0.01
CPU_LIMIT = 0.9  # of one core: above this the generator is CPU-bound


class GeneratorMonitor:
    """Samples event-loop lag every 10 ms while `run` is running."""

    def __init__(self) -> None:
        self.loop_lag = LogHistogram()
        self._cpu_start = time.process_time()
        self._clock_start = trio.current_time()

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            before = trio.current_time()
            await trio.sleep(SAMPLE_INTERVAL)
            self.loop_lag.add(max(0.0, trio.current_time() - before - SAMPLE_INTERVAL))

    def report(self) -> dict[str, Any]:
        """Event-loop lag percentiles and the share of one CPU core used."""
        elapsed = trio.current_time() - self._clock_start
        cpu = time.process_time() - self._cpu_start
        lag = self.loop_lag.summary()
        return {
            "event_loop_lag_p99": lag.get("p99"),
            "event_loop_lag_max": lag.get("max"),
            "cpu_utilization": cpu / elapsed if elapsed > 0 else None,
        }


def generator_warnings(
    health: dict[str, Any], stats: dict[str, Any], lag_tolerance: float, rate_tolerance: float
) -> list[str]:
    """Why the generator, not the endpoint, may have set the numbers (empty when all is well)."""
    warnings = []
    lag = stats.get("schedule_lag-p99")
    if lag is not None and lag > lag_tolerance:
        warnings.append(
            f"schedule lag p99 is {lag * 1000:.1f} ms (tolerance {lag_tolerance * 1000:.0f} ms): "
            "requests went out late; latency from the intended time includes that wait"
        )
    intended, achieved = stats.get("intended_request_rate"), stats.get("achieved_request_rate")
    if intended and achieved is not None and achieved < intended * (1 - rate_tolerance):
        warnings.append(
            f"achieved {achieved:.2f} req/s of the {intended:.2f} req/s intended "
            f"(tolerance {rate_tolerance:.0%})"
        )
    loop_lag = health.get("event_loop_lag_p99")
    if loop_lag is not None and loop_lag > lag_tolerance:
        warnings.append(
            f"event-loop lag p99 is {loop_lag * 1000:.1f} ms: the generator was too busy to "
            "take timestamps on time"
        )
    cpu = health.get("cpu_utilization")
    if cpu is not None and cpu > CPU_LIMIT:
        warnings.append(f"the generator used {cpu:.0%} of a CPU core: it was CPU-bound")
    return warnings
