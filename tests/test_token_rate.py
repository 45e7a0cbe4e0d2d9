"""`TokenRate` against the simulator's quota (token buckets), in virtual time: the schedule
holds its budget within 5% without a single 429, counting tokens as the answers report them;
10 closed-loop clients against the same quota show the storm it avoids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import FakeEndpoint, Result, Runner
from llmeter_trio.endpoints import AnthropicMessagesEndpoint, OpenAIChatEndpoint
from llmeter_trio.engine._pacer import requested_output_tokens
from llmeter_trio.plugins import schedule_from_config
from llmeter_trio.schedules import TokenRate
from llmeter_trio.sim import Faults, SimApp, SimConfig

from ._support.sim_app import serving

TIME_LIMIT = 86_400  # seconds (virtual) any one run may take


@asynccontextmanager
async def quota_server(config: SimConfig) -> AsyncIterator[tuple[SimApp, str]]:
    """The simulator on 127.0.0.1, with its app at hand (its buckets' counts)."""
    app = SimApp(config)
    async with serving(app) as origin:
        yield app, origin


def sim(**budgets: Any) -> SimConfig:
    return SimConfig(ttft_base=0.05, itl=0.005, output_tokens=10, faults=Faults(**budgets))


def tokens_used(result: Result) -> int:
    return sum((r.num_tokens_input or 0) + (r.num_tokens_output or 0) for r in result.responses)


def throttled(result: Result) -> int:
    return sum(r.status_code == 429 for r in result.responses)


class TestTokenRateSchedule:
    def test_needs_a_budget(self) -> None:
        with pytest.raises(ValueError, match="requests_per_minute, tokens_per_minute"):
            TokenRate()

    @pytest.mark.parametrize("value", [0, -1, float("nan")])
    def test_budgets_are_positive_numbers(self, value: float) -> None:
        with pytest.raises(ValueError):
            TokenRate(tokens_per_minute=value)

    def test_registered_and_saved_by_name(self) -> None:
        schedule = TokenRate(requests_per_minute=60, tokens_per_minute=9000, max_concurrency=4)
        config = schedule.to_config()
        assert config == {
            "schedule": "tokenrate", "requests_per_minute": 60, "tokens_per_minute": 9000,
            "max_concurrency": 4,
        }  # fmt: skip
        assert schedule_from_config(config) == schedule

    @pytest.mark.parametrize(
        ("payload", "tokens"),
        [({"max_tokens": 7}, 7), ({"max_completion_tokens": 9, "max_tokens": 1}, 9),
         ({"inferenceConfig": {"maxTokens": 5}}, 5), ({"parameters": {"max_new_tokens": 3}}, 3),
         ({"messages": []}, 0)],
    )  # fmt: skip
    def test_the_output_reserved_is_what_the_payload_asks_for(
        self, payload: dict[str, Any], tokens: int
    ) -> None:
        assert requested_output_tokens(payload) == tokens


def intended_times(result: Result) -> list[float]:
    return sorted(
        r.intended_send_time for r in result.responses if r.intended_send_time is not None
    )


class TestPacing:
    """The pace itself, with FakeEndpoint in virtual time: every instant is exact."""

    async def test_requests_leave_evenly_from_the_start(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """60 requests per minute: one a second from t=0 (no burst), n_requests in all."""
        endpoint = FakeEndpoint(time_to_first_token=0.01, inter_token_latency=0, output_tokens=1)
        result = await Runner(endpoint).run(
            payload={"prompt": "hi"}, schedule=TokenRate(requests_per_minute=60), n_requests=10
        )
        assert result.total_requests == 10
        assert intended_times(result) == pytest.approx([float(t) for t in range(10)], abs=1e-9)

    async def test_a_reservation_is_corrected_by_the_answer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """600 tokens per minute (10 a second); each request reserves max_tokens=100 but uses
        3 input + 7 output tokens: once its answer reports that, the next may go 1 s later."""
        endpoint = FakeEndpoint(time_to_first_token=0.05, inter_token_latency=0.01, output_tokens=7)
        result = await Runner(endpoint).run(
            payload={"prompt": "a b c", "max_tokens": 100},
            schedule=TokenRate(tokens_per_minute=600),
            n_requests=8,
        )
        assert {(r.num_tokens_input, r.num_tokens_output) for r in result.responses} == {(3, 7)}
        assert intended_times(result) == pytest.approx([float(t) for t in range(8)], abs=1e-9)

    async def test_a_failed_request_gives_its_reservation_back(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A failure reports no output: only its (counted) input stays charged."""
        endpoint = FakeEndpoint(time_to_first_token=0.05)
        payload = {
            "prompt": "x",
            "max_tokens": 100,
            "fake": {"error": "server", "status_code": 503},
        }
        result = await Runner(endpoint).run(
            payload=payload, schedule=TokenRate(tokens_per_minute=600), n_requests=3
        )
        assert all(r.failed for r in result.responses)
        # reserved 100, gave it all back at 0.05 s (the fake endpoint has no prompt text to count)
        assert intended_times(result) == pytest.approx([0.0, 0.05, 0.1], abs=1e-9)

    async def test_a_concurrency_cap_shows_as_lag(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The quota allows one request every 0.1 s, one slot holds each for 1 s: requests
        leave when a slot frees, their intended time stays when the quota allowed them."""
        endpoint = FakeEndpoint(time_to_first_token=1.0, output_tokens=1)
        result = await Runner(endpoint).run(
            payload={"prompt": "hi"},
            schedule=TokenRate(requests_per_minute=600, max_concurrency=1),
            n_requests=3,
        )
        sends = sorted(r.send_time for r in result.responses if r.send_time is not None)
        assert sends == pytest.approx([0.0, 1.0, 2.0], abs=1e-9)
        assert intended_times(result) == pytest.approx([0.0, 0.1, 1.0], abs=1e-9)
        assert result.stats["schedule_lag-max"] == pytest.approx(1.0, abs=1e-9)


async def test_requests_per_minute_is_held_against_the_bucket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """300 requests per minute for two minutes: 600 requests within 5%, none throttled."""
    async with quota_server(sim(requests_per_minute=300)) as (app, origin):
        endpoint = OpenAIChatEndpoint(base_url=origin + "/v1", model_id="sim-model", api_key="k")
        payload = endpoint.create_payload("one two three", max_tokens=10)
        with trio.fail_after(TIME_LIMIT):
            result = await Runner(endpoint, seed=1).run(
                payload=payload, schedule=TokenRate(requests_per_minute=300), run_duration=120
            )
    assert throttled(result) == 0 and app.rate_limiter is not None
    assert app.rate_limiter.throttled == 0
    assert result.total_requests == pytest.approx(600, rel=0.05)
    # the pace is smooth: no burst at the start
    sends = sorted(r.send_time for r in result.responses if r.send_time is not None)
    assert sends[5] == pytest.approx(1.0, abs=0.01)


async def test_tokens_per_minute_counts_answers_as_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A payload that reserves 100 output tokens and gets 10: each answer's report gives the
    90 back, so the run uses its 1,500 tokens per minute (within 5%), never throttled."""
    async with quota_server(sim(tokens_per_minute=1500)) as (app, origin):
        endpoint = AnthropicMessagesEndpoint(base_url=origin, model_id="sim-model", api_key="k")
        payload = endpoint.create_payload("a b c d e", 100)  # 5 input tokens
        with trio.fail_after(TIME_LIMIT):
            result = await Runner(endpoint, seed=1).run(
                payload=payload, schedule=TokenRate(tokens_per_minute=1500), run_duration=120
            )
    assert throttled(result) == 0 and app.rate_limiter is not None
    assert app.rate_limiter.throttled == 0
    assert {(r.num_tokens_input, r.num_tokens_output) for r in result.responses} == {(5, 10)}
    assert tokens_used(result) / 2 == pytest.approx(1500, rel=0.05)  # per minute
    assert app.rate_limiter.admitted_tokens == tokens_used(result)


async def test_both_budgets_the_tighter_one_leads(autojump_clock: trio.testing.MockClock) -> None:
    """With both budgets, whichever is tighter sets the pace (tokens here: 20 per request)."""
    budgets = {"requests_per_minute": 600, "tokens_per_minute": 1200}
    async with quota_server(sim(**budgets)) as (app, origin):
        endpoint = OpenAIChatEndpoint(base_url=origin + "/v1", model_id="sim-model", api_key="k")
        payload = endpoint.create_payload(" ".join(["w"] * 10), max_tokens=10)
        with trio.fail_after(TIME_LIMIT):
            result = await Runner(endpoint, seed=1).run(
                payload=payload, schedule=TokenRate(**budgets), run_duration=60
            )
    assert throttled(result) == 0 and app.rate_limiter is not None
    assert app.rate_limiter.throttled == 0
    assert result.total_requests == pytest.approx(1200 / 20, rel=0.05)
    assert tokens_used(result) == pytest.approx(1200, rel=0.05)


async def test_ten_closed_loop_clients_against_the_bucket_storm(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The baseline TokenRate avoids: 10 closed-loop clients (no retries) against a quota of
    60 requests per minute. The bucket admits its minute plus what it refills, the rest is
    429s: most of what the clients send is throttled."""
    async with quota_server(sim(requests_per_minute=60)) as (app, origin):
        endpoint = OpenAIChatEndpoint(base_url=origin + "/v1", model_id="sim-model", api_key="k")
        payload = endpoint.create_payload("one two three", max_tokens=10)
        with trio.fail_after(TIME_LIMIT):
            result = await Runner(endpoint, seed=1).run(payload=payload, clients=10, n_requests=50)
    assert result.total_requests == 500
    ok = sum(not r.failed for r in result.responses)
    assert result.total_test_time is not None
    assert ok <= 60 + result.total_test_time * 1.0 + 1  # what the bucket can admit
    assert throttled(result) == 500 - ok
    assert app.rate_limiter is not None and app.rate_limiter.admitted == ok
    assert throttled(result) / 500 > 0.5
