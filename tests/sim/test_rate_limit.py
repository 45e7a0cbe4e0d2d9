"""The simulator's quota: token buckets for requests and tokens per minute, OpenAI's headers,
429 with Retry-After when a request does not fit (in virtual time: the numbers are exact)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio.sim import Faults, SimApp, SimConfig, call_app
from llmeter_trio.sim._bucket import Bucket, RateLimiter, format_reset
from llmeter_trio.sim._cli import build_parser, config_from_args

CHAT = "/v1/chat/completions"


def body(words: int = 5, max_tokens: int = 5) -> dict[str, object]:
    text = " ".join(["w"] * words)
    return {"model": "m", "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens}


def quota(**budgets: Any) -> SimConfig:
    return SimConfig(ttft_base=0.0, itl=0.0, faults=Faults(**budgets))


class TestFormatReset:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [(0.02, "20ms"), (0.0201, "21ms"), (1.0, "1s"), (1.5, "1.5s"), (360.0, "6m0s"),
         (90.25, "1m30.25s"), (3725.0, "1h2m5s")],
    )  # fmt: skip
    def test_forms(self, seconds: float, text: str) -> None:
        """Durations are written as OpenAI writes them."""
        assert format_reset(seconds) == text


class TestBucket:
    def test_refills_at_a_minutes_budget_and_holds_at_most_one_minute(self) -> None:
        """Level rises by budget/60 per second, up to the budget."""
        bucket = Bucket(120)
        bucket.refill(10.0)  # starts the clock, full
        bucket.level = 0.0
        bucket.refill(11.0)
        assert bucket.level == pytest.approx(2.0)
        bucket.refill(1000.0)
        assert bucket.level == 120

    def test_admits_only_what_both_buckets_cover(self) -> None:
        """The tighter budget refuses, and says how long until the request fits."""
        limiter = RateLimiter.per_minute(60, 600)
        assert limiter is not None
        for _ in range(6):  # 6 requests of 100 tokens empty the tokens bucket
            assert limiter.admit(0.0, 100) is None
        refused = limiter.admit(0.0, 100)
        assert refused is not None and refused[0] == "tokens"
        assert refused[1] == pytest.approx(10.0)  # 100 tokens at 10 per second
        assert limiter.admit(10.0, 100) is None
        assert (limiter.admitted, limiter.throttled, limiter.admitted_tokens) == (7, 1, 700)

    def test_a_request_larger_than_the_budget_never_fits(self) -> None:
        limiter = RateLimiter.per_minute(None, 50)
        assert limiter is not None
        assert limiter.admit(0.0, 51) == ("tokens", math.inf)

    def test_no_budget_no_limiter(self) -> None:
        assert RateLimiter.per_minute(None, None) is None


async def test_requests_beyond_the_budget_get_429_with_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """At 60 requests per minute, the 61st request at once is refused until 1 s later;
    every answer carries the x-ratelimit headers."""
    app = SimApp(quota(requests_per_minute=60))
    answers = [await call_app(app, CHAT, body()) for _ in range(61)]
    assert [a.status for a in answers[:60]] == [200] * 60
    first, refused = answers[0], answers[60]
    assert first.headers["x-ratelimit-limit-requests"] == "60"
    assert first.headers["x-ratelimit-remaining-requests"] == "59"
    assert first.headers["x-ratelimit-reset-requests"] == "1s"
    assert "x-ratelimit-limit-tokens" not in first.headers
    assert refused.status == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["retry-after-ms"] == "1000"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    await trio.sleep(1.0)
    assert (await call_app(app, CHAT, body())).status == 200
    assert app.rate_limiter is not None
    assert (app.rate_limiter.admitted, app.rate_limiter.throttled) == (61, 1)


async def test_tokens_count_input_and_the_planned_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A request takes its input words plus its output tokens from the tokens bucket."""
    app = SimApp(quota(tokens_per_minute=600))
    answer = await call_app(app, CHAT, body(words=7, max_tokens=13))
    assert answer.status == 200
    assert answer.headers["x-ratelimit-remaining-tokens"] == str(600 - 20)
    assert answer.headers["x-ratelimit-limit-tokens"] == "600"
    assert answer.headers["x-ratelimit-reset-tokens"] == "2s"  # 20 tokens at 10 per second
    too_big = await call_app(app, CHAT, body(words=1, max_tokens=600))
    assert too_big.status == 429
    assert "retry-after" not in too_big.headers  # it never fits
    assert "too large" in too_big.json()["error"]["message"]


async def test_streamed_answers_carry_the_headers(autojump_clock: trio.testing.MockClock) -> None:
    app = SimApp(quota(requests_per_minute=10, tokens_per_minute=1000))
    answer = await call_app(app, CHAT, {**body(), "stream": True})
    assert answer.status == 200
    assert answer.headers["x-ratelimit-remaining-requests"] == "9"
    assert answer.headers["x-ratelimit-remaining-tokens"] == "990"


async def test_admitted_rate_is_the_budget(autojump_clock: trio.testing.MockClock) -> None:
    """Hammered for two minutes, the bucket admits one minute's budget plus what it refills."""
    app = SimApp(quota(requests_per_minute=120))
    admitted = 0
    start = trio.current_time()
    while trio.current_time() - start < 120.0:
        admitted += (await call_app(app, CHAT, body())).status == 200
        await trio.sleep(0.1)
    assert admitted == pytest.approx(120 + 120 * 2, abs=2)


def test_command_line_sets_the_quota() -> None:
    args = build_parser().parse_args(["--rpm", "500", "--tokens-per-minute", "90000"])
    faults = config_from_args(args).faults
    assert (faults.requests_per_minute, faults.tokens_per_minute) == (500, 90000)


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Faults(requests_per_minute=0)
