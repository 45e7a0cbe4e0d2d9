"""Open-loop runs over real HTTP against the simulated server: rates, lag, both latency
families, goodput (in virtual time: the numbers are exact), and a generator that falls
behind being flagged (on the real clock: its overload is real blocking)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import Callback, Result, Runner
from llmeter_trio.endpoints import OpenAIChatEndpoint
from llmeter_trio.schedules import ConstantRate, OpenLoopSchedule, Poisson
from llmeter_trio.sim import SimConfig, simulated_server

TIME_LIMIT = 60
SIM = SimConfig(ttft_base=0.05, itl=0.005, output_tokens=10)
SLOS = ["ttft_p99<=1s", "e2e_intended<=2s"]


@pytest.fixture
async def endpoint() -> AsyncIterator[OpenAIChatEndpoint]:
    async with simulated_server(SIM) as base_url:
        yield OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")


async def open_run(
    endpoint: OpenAIChatEndpoint, schedule: OpenLoopSchedule, **kwargs: Any
) -> Result:
    payload = OpenAIChatEndpoint.create_payload("one two three", max_tokens=10)
    with trio.fail_after(TIME_LIMIT):
        return await Runner(endpoint, seed=5).run(
            payload=payload, schedule=schedule, n_requests=40, slos=SLOS, **kwargs
        )


@pytest.mark.parametrize(
    "schedule", [ConstantRate(rate=20), Poisson(rate=20)], ids=["constant", "poisson"]
)
async def test_rates_lag_both_latencies_and_goodput(
    autojump_clock: trio.testing.MockClock,
    endpoint: OpenAIChatEndpoint,
    schedule: OpenLoopSchedule,
) -> None:
    """At 20 req/s the simulated server keeps up: achieved rate matches the intended one,
    no request leaves late, latency from the intended time is latency from the send time,
    and every request counts toward goodput."""
    result = await open_run(endpoint, schedule)
    stats = result.stats
    assert stats["failed_requests"] == 0
    assert stats["achieved_request_rate"] == pytest.approx(stats["intended_request_rate"], rel=0.05)
    if isinstance(schedule, ConstantRate):
        assert stats["intended_request_rate"] == pytest.approx(20)
    assert stats["schedule_lag-max"] == 0  # in virtual time, every request leaves on time
    for metric in ("time_to_first_token", "time_to_last_token"):
        assert stats[f"{metric}-p50"] >= 0.05
        assert stats[f"{metric}_from_intended-min"] >= stats[f"{metric}-min"]
        assert (
            stats[f"{metric}_from_intended-max"]
            <= stats[f"{metric}-max"] + stats["schedule_lag-max"]
        )
    assert stats["slos_met"] is True
    assert stats["slo_attainment"] == 1.0
    assert stats["goodput_requests_per_second"] == pytest.approx(
        40 / result.total_test_time  # type: ignore[operator]
    )
    assert not result.generator["bottleneck"], result.generator["warnings"]


class BusyGenerator(Callback):
    """Stands for a load generator short of CPU: blocks the event loop before each request."""

    def before_invoke(self, payload: dict[str, Any]) -> None:
        time.sleep(0.08)  # blocking on purpose: this is the overload


@pytest.mark.realtime
async def test_an_overloaded_generator_is_flagged(endpoint: OpenAIChatEndpoint) -> None:
    """A generator that cannot keep up with 50 req/s is flagged: lag, a missed rate, a
    stalled event loop; latency from the intended time shows the wait."""
    result = await open_run(endpoint, ConstantRate(rate=50), callbacks=[BusyGenerator()])
    stats = result.stats
    assert result.generator["bottleneck"] is True
    warnings = " ".join(result.generator["warnings"])
    assert "schedule lag p99" in warnings
    assert "achieved" in warnings
    assert stats["achieved_request_rate"] < 15  # 80 ms of blocking per request: at most 12.5/s
    assert stats["time_to_last_token_from_intended-p99"] > stats["time_to_last_token-p99"] + 0.5
