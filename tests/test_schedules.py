"""Open-loop schedules in virtual time: arrival distributions, caps, lag, windows."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.plugins import schedule_from_config
from llmeter_trio.schedules import (
    ClosedLoop,
    ConstantRate,
    Gamma,
    Poisson,
    Ramp,
    TraceReplay,
)

from ._support.fakes import CountingEndpoint
from ._support.virtual import run_virtual


def ks_statistic(samples: list[float], cdf: Any) -> float:
    """The Kolmogorov-Smirnov distance between the samples and a distribution."""
    ordered = sorted(samples)
    n = len(ordered)
    return max(max((i + 1) / n - cdf(x), cdf(x) - i / n) for i, x in enumerate(ordered))


def ks_critical(n: int) -> float:
    """The 1% critical value of the one-sample KS test, for large n."""
    return 1.628 / math.sqrt(n)


def send_gaps(result: Result) -> list[float]:
    sends = sorted(r.send_time for r in result.responses if r.send_time is not None)
    return [b - a for a, b in itertools.pairwise(sends)]


async def open_run(schedule: Any, **kwargs: Any) -> Result:
    endpoint = kwargs.pop("endpoint", FakeEndpoint(time_to_first_token=0.5, output_tokens=4))
    return await Runner(endpoint, seed=kwargs.pop("seed", 11)).run(
        payload={"prompt": "x"}, schedule=schedule, **kwargs
    )


class TestArrivalDistributions:
    async def test_poisson_gaps_are_exponential(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Achieved inter-arrival times of a Poisson run pass a KS test against Exp(rate)."""
        result = await open_run(Poisson(rate=20), n_requests=2000)
        gaps = send_gaps(result)
        assert ks_statistic(gaps, lambda x: 1 - math.exp(-20 * x)) < ks_critical(len(gaps))
        # a constant-rate distribution must fail the same test (the test can fail)
        assert ks_statistic([0.05] * len(gaps), lambda x: 1 - math.exp(-20 * x)) > ks_critical(
            len(gaps)
        )

    async def test_constant_rate_gaps_are_exact(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A constant rate sends exactly every 1/rate seconds, however slow the endpoint."""
        slow = FakeEndpoint(time_to_first_token=2.0, output_tokens=2)
        result = await open_run(ConstantRate(rate=8), n_requests=100, endpoint=slow)
        assert send_gaps(result) == [0.125] * 99
        assert result.stats["achieved_request_rate"] == pytest.approx(8)
        assert result.stats["schedule_lag-max"] == 0
        assert not result.generator["bottleneck"]

    def test_gamma_burstiness_sets_the_spread(self) -> None:
        """Gamma gaps have mean 1/rate and coefficient of variation 1/sqrt(burstiness)."""
        for burstiness in (0.25, 1.0, 4.0):
            arrivals = Gamma(rate=10, burstiness=burstiness).arrivals(random.Random(3))
            times = [next(arrivals).time for _ in range(20001)]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            mean = sum(gaps) / len(gaps)
            cv = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean
            assert mean == pytest.approx(0.1, rel=0.05)
            assert cv == pytest.approx(1 / math.sqrt(burstiness), rel=0.05)

    @given(
        start=st.integers(0, 20),
        end=st.integers(1, 40),
        duration=st.integers(1, 20),
        at=st.floats(0, 40),
    )
    def test_ramp_profile(self, start: int, end: int, duration: int, at: float) -> None:
        """Arrivals up to any time match the ramp's expected count to within one."""
        ramp = Ramp(start_rate=start, end_rate=end, duration=duration)
        arrivals = ramp.arrivals(random.Random(0))
        count = 0
        while next(arrivals).time <= at:
            count += 1
        assert abs(count - ramp.expected_count(at)) <= 1.000001
        assert ramp.rate_at(duration / 2) == pytest.approx((start + end) / 2)

    def test_seeded_and_reproducible(self) -> None:
        """The same seed gives the same arrivals; another seed others."""

        def first(seed: int) -> list[float]:
            arrivals = Poisson(rate=5).arrivals(random.Random(seed))
            return [next(arrivals).time for _ in range(10)]

        assert first(1) == first(1) != first(2)


class TestTimeBound:
    async def test_open_loop_for_a_duration(self, autojump_clock: trio.testing.MockClock) -> None:
        """An open loop bounded in time sends what was due before the end, then drains."""
        result = await open_run(ConstantRate(rate=4), run_duration=2.0)
        assert result.total_requests == 8 == result.n_requests
        assert max(r.intended_send_time or 0 for r in result.responses) == 1.75
        assert result.total_test_time == pytest.approx(1.75 + 0.5 + 3 * 0.01)  # due, then answered

    async def test_capped_open_loop_for_a_duration(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With a cap, the run reports the cap as its clients."""
        result = await open_run(ConstantRate(rate=4, max_concurrency=3), run_duration=1.0)
        assert (result.clients, result.total_requests) == (3, 4)


class TestConcurrencyCap:
    @given(cap=st.integers(1, 6), rate=st.integers(1, 50))
    def test_cap_never_exceeded(self, cap: int, rate: int) -> None:
        """An open-loop run never has more than max_concurrency requests in flight."""
        endpoint = CountingEndpoint(time_to_first_token=0.5, output_tokens=3)

        async def main() -> Result:
            return await Runner(endpoint, seed=0).run(
                payload={"prompt": "x"},
                schedule=Poisson(rate=rate, max_concurrency=cap),
                n_requests=60,
            )

        result = run_virtual(main)
        assert endpoint.peak <= cap
        assert result.total_requests == 60
        assert result.clients == cap

    async def test_lag_accounting_when_the_endpoint_is_slow(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Due every 1/8 s, 0.5 s each, 2 at a time: each request waits for a slot, and
        latency from the intended time adds exactly that wait."""
        endpoint = FakeEndpoint(time_to_first_token=0.5, output_tokens=1)
        result = await open_run(
            ConstantRate(rate=8, max_concurrency=2), n_requests=40, endpoint=endpoint
        )
        records = sorted(result.responses, key=lambda r: r.intended_send_time or 0)
        starts: list[float] = []
        for k, record in enumerate(records):
            due = k / 8
            start = max(due, starts[k - 2] + 0.5) if k >= 2 else due
            starts.append(start)
            assert record.intended_send_time == due
            assert record.send_time == start
        last = records[-1]
        assert result.stats["schedule_lag-max"] == (last.send_time or 0) - (
            last.intended_send_time or 0
        )
        assert result.stats["time_to_last_token_from_intended-max"] == pytest.approx(
            result.stats["schedule_lag-max"] + 0.5
        )
        assert result.stats["achieved_request_rate"] == pytest.approx(4, rel=0.05)
        assert result.generator["bottleneck"]
        assert any("schedule lag p99" in w for w in result.generator["warnings"])
        assert any("achieved" in w for w in result.generator["warnings"])


class TestTraceReplay:
    async def test_replays_times_and_payloads_scaled(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Recorded times (relative to the first, scaled) and payload references are followed."""
        trace = tmp_path / "trace.jsonl"
        trace.write_text(
            '{"timestamp": 100.0, "payload": 1}\n{"timestamp": 101.0}\n'
            '{"timestamp": 103.0, "payload": {"prompt": "inline"}}\n'
        )
        result = await Runner(FakeEndpoint(), seed=0).run(
            payload=[{"prompt": "zero"}, {"prompt": "one"}],
            schedule=TraceReplay(path=str(trace), time_scale=0.5),
        )
        records = sorted(result.responses, key=lambda r: r.send_time or 0)
        assert [r.intended_send_time for r in records] == [0.0, 0.5, 1.5]
        assert records[0].input_prompt == "one"
        assert records[2].input_prompt == "inline"

    def test_bad_trace_names_file_and_line(self, tmp_path: Path) -> None:
        """A malformed trace line is reported with its file and line."""
        trace = tmp_path / "bad.jsonl"
        trace.write_text('{"timestamp": 1}\n{"when": 2}\n')
        with pytest.raises(ValueError, match=r"bad.jsonl, line 2"):
            TraceReplay(path=str(trace)).load()


class TestWindows:
    async def test_warmup_and_cooldown_by_count(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The first and last requests are recorded but left out of the statistics."""
        payloads = [{"prompt": "x", "fake": {"time_to_first_token": 1.0}}] * 2 + [
            {"prompt": "y"}
        ] * 6
        result = await Runner(FakeEndpoint(time_to_first_token=0.25), seed=0).run(
            payload=payloads, schedule=ConstantRate(rate=1), n_requests=10,
            warmup_requests=2, cooldown_requests=3,
        )  # fmt: skip
        stats = result.stats
        assert (
            stats["total_requests"],
            stats["measured_requests"],
            stats["excluded_requests"],
        ) == (10, 5, 5)
        assert [r.excluded for r in sorted(result.responses, key=lambda r: r.send_time or 0)] == (
            ["warmup"] * 2 + [None] * 5 + ["cooldown"] * 3
        )

    async def test_cooldown_needs_a_known_end(self) -> None:
        """A cool-down that cannot be decided up front is refused with a reason."""
        with pytest.raises(ValueError, match="cooldown_seconds needs a time-bound run"):
            await Runner(FakeEndpoint()).run(
                payload={"prompt": "x"}, n_requests=3, cooldown_seconds=1
            )


class TestConfig:
    @pytest.mark.parametrize(
        "schedule",
        [ClosedLoop(clients=3), ConstantRate(rate=2.5), Poisson(rate=1, max_concurrency=4),
         Gamma(rate=3, burstiness=0.5), Ramp(start_rate=1, end_rate=5, duration=10),
         TraceReplay(path="memory://t.jsonl", time_scale=2)],
    )  # fmt: skip
    def test_round_trip(self, schedule: Any) -> None:
        """Every schedule is saved by name and rebuilt equal."""
        assert schedule_from_config(schedule.to_config()) == schedule

    def test_bad_values_are_explained(self) -> None:
        """Rates must be positive and caps whole numbers."""
        with pytest.raises(ValueError, match="rate must be greater than 0"):
            Poisson(rate=0)
        with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
            ConstantRate(rate=1, max_concurrency=0)
