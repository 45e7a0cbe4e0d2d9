"""Throttling and failures as a real client meets them: retries, Retry-After, dead endpoints.

Virtual time throughout (FakeEndpoint variants whose answers are scripted, and the
in-process simulator over loopback), so every wait and every count is exact.
"""

from __future__ import annotations

import itertools
import random
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from llmeter_trio import FakeEndpoint, InvocationResponse, Result, Runner
from llmeter_trio.cli import main
from llmeter_trio.cli._summary import format_summary
from llmeter_trio.endpoints import Attempt, ErrorClass, OpenAIChatEndpoint
from llmeter_trio.endpoints._errors import (
    parse_duration,
    rate_limit_headers,
    retry_after_seconds,
)
from llmeter_trio.engine import EndpointUnreachable, Retry
from llmeter_trio.engine._plan import plan_run
from llmeter_trio.schedules import ConstantRate
from llmeter_trio.sim import Faults, SimConfig, simulated_server
from llmeter_trio.stats import RunStats

from .strategies import invocation_responses

PAYLOAD = [{"prompt": "one two"}]
TTFT, ITL, TOKENS = 0.05, 0.01, 16
ANSWER_TIME = TTFT + ITL * (TOKENS - 1)  # a FakeEndpoint answer, start to end
ERROR_TIME = 0.02  # a scripted failure takes this long


@attrs.define
class Scripted(FakeEndpoint):
    """FakeEndpoint whose n-th call fails as `script[n]` says: ``(status, retry_after)``,
    ``"connect"`` (nothing answers), or None for a normal answer (past the end: answers)."""

    script: Sequence[tuple[int, float | None] | str | None] = ()
    calls: int = attrs.field(default=0, init=False)

    async def invoke(self, payload: dict[str, Any]) -> InvocationResponse:
        step = self.script[self.calls] if self.calls < len(self.script) else None
        self.calls += 1
        if step is None:
            return await super().invoke(payload)
        await trio.sleep(ERROR_TIME)
        if step == "connect":
            raise httpx.ConnectError("All connection attempts failed")
        assert not isinstance(step, str)
        status, retry_after = step
        error_class = {429: ErrorClass.THROTTLED, 400: ErrorClass.CLIENT}.get(
            status, ErrorClass.SERVER
        )
        return InvocationResponse.error_output(
            f"HTTP {status}", error_class, status_code=status, retry_after=retry_after
        )


def scripted(*steps: tuple[int, float | None] | str | None) -> Scripted:
    return Scripted(
        script=list(steps), time_to_first_token=TTFT, inter_token_latency=ITL, output_tokens=TOKENS
    )


async def run(endpoint: FakeEndpoint, **options: Any) -> Result:
    options.setdefault("n_requests", 1)
    with trio.fail_after(600):
        return await Runner(endpoint, seed=7).run(payload=PAYLOAD, **options)


# -- what the headers say ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5),
     ("2", 2.0), ("soon", None), ("1x", None), ("", None), ("-1", None)],
)  # fmt: skip
def test_durations_in_openai_form(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_retry_after_header_forms() -> None:
    """retry-after-ms wins over Retry-After, which wins over the resets; an HTTP date counts
    from now; of the resets, the used-up budget's."""
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds({"retry-after": "3", "retry-after-ms": "250"}, now) == 0.25
    assert retry_after_seconds({"retry-after": "3"}, now) == 3.0
    assert retry_after_seconds({"retry-after": later}, now) == 30.0
    resets = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}
    assert retry_after_seconds(resets, now) == 360.0  # none said used up: the latest
    used_up = {**resets, "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "9"}
    assert retry_after_seconds(used_up, now) == 1.0
    assert retry_after_seconds({"content-type": "application/json"}, now) is None


def test_rate_limit_headers_of_openai_and_anthropic() -> None:
    openai = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
              "x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "149984",
              "x-ratelimit-reset-tokens": "6ms", "content-type": "text/plain"}  # fmt: skip
    assert rate_limit_headers(openai) == {
        "limit_requests": "60", "remaining_requests": "59", "limit_tokens": "150000",
        "remaining_tokens": "149984", "reset_tokens": "6ms",
    }  # fmt: skip
    anthropic = {"anthropic-ratelimit-requests-limit": "50",
                 "anthropic-ratelimit-requests-remaining": "0"}  # fmt: skip
    assert rate_limit_headers(anthropic) == {"limit_requests": "50", "remaining_requests": "0"}
    assert rate_limit_headers({"server": "x"}) is None


async def test_http_endpoint_keeps_rate_limits_and_the_wait_asked() -> None:
    """An answer's rate-limit headers go on its record; a 429's wait too, a 200's not."""
    limits = {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0",
              "x-ratelimit-reset-requests": "2s"}  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        if b"throttle" in request.content:
            return httpx.Response(429, headers=limits, json={"error": {"message": "slow down"}})
        body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}}  # fmt: skip
        return httpx.Response(200, headers={**limits, "retry-after": "5"}, json=body)

    endpoint = OpenAIChatEndpoint(
        base_url="http://127.0.0.1:9/v1", model_id="m", transport=httpx.MockTransport(answer)
    )
    throttled = await endpoint.invoke({"messages": [{"role": "user", "content": "throttle"}]})
    assert throttled.status_code == 429 and throttled.error_class is ErrorClass.THROTTLED
    assert throttled.retry_after == 2.0
    assert throttled.rate_limit == {
        "limit_requests": "10", "remaining_requests": "0", "reset_requests": "2s"
    }  # fmt: skip
    fine = await endpoint.invoke({"messages": [{"role": "user", "content": "hello"}]})
    assert not fine.failed and fine.retry_after is None and fine.rate_limit is not None


async def test_the_summary_shows_the_rate_limits_last_seen(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A run against an API that reports its limits: the latest answer's limits are in the
    stats and the summary, with the throttled share."""
    answered = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        answered += 1
        await trio.sleep(0.1)
        limits = {"x-ratelimit-limit-requests": "10",
                  "x-ratelimit-remaining-requests": str(10 - answered),
                  "x-ratelimit-limit-tokens": "1000",
                  "x-ratelimit-remaining-tokens": "990"}  # fmt: skip
        if answered == 2:
            return httpx.Response(429, headers={**limits, "retry-after": "1"}, json={})
        body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}
        return httpx.Response(200, headers=limits, json=body)

    endpoint = OpenAIChatEndpoint(
        base_url="http://127.0.0.1:9/v1", model_id="m", transport=httpx.MockTransport(answer)
    )
    payload = {**OpenAIChatEndpoint.create_payload("hi"), "stream": False}
    result = await Runner(endpoint, seed=1).run(payload=payload, n_requests=4)
    assert result.stats["rate_limit"]["remaining_requests"] == "6"
    assert result.stats["throttled_share"] == 0.25
    assert result.stats["total_throttle_wait"] == 1.0
    summary = format_summary(result)
    assert "rate limits last seen: requests 6 left of 10, tokens 990 left of 1000" in summary
    assert "throttled 1 (25.0% of attempts)" in summary


# -- the retry policy ------------------------------------------------------------------


async def test_retry_follows_retry_after_then_succeeds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """429 (Retry-After 2 s), 503 (no hint: seeded backoff), then an answer: three attempts,
    each kept; the record's times run from the first send, the last attempt's from its own."""
    endpoint = scripted((429, 2.0), (503, None))
    policy = Retry(max_attempts=4, base_delay=1.0)
    result = await run(endpoint, retry=policy)
    (record,) = result.responses
    backoff = policy.wait(2, None, Retry.rng(7, 0))  # the second retry: the 503 gave no hint
    assert 0 <= backoff <= 2.0
    assert not record.failed and record.retries == 2 and endpoint.calls == 3
    attempts = record.attempts
    assert attempts is not None
    assert [(a.status_code, a.error_class) for a in attempts] == [
        (429, ErrorClass.THROTTLED), (503, ErrorClass.SERVER), (None, None)
    ]  # fmt: skip
    assert [a.wait for a in attempts] == [0.0, 2.0, backoff]
    assert attempts[0].retry_after == 2.0
    assert attempts[1].send_time == pytest.approx(ERROR_TIME + 2.0)
    assert attempts[2].send_time == pytest.approx(2 * ERROR_TIME + 2.0 + backoff)
    assert record.retry_wait == pytest.approx(2.0 + backoff)
    # what the user waited: from the first send; what the attempt that succeeded took
    assert record.send_time == 0.0
    assert record.time_to_last_token == pytest.approx(2 * ERROR_TIME + 2.0 + backoff + ANSWER_TIME)
    assert record.final_attempt_time_to_last_token == pytest.approx(ANSWER_TIME)
    assert record.time_to_first_token == pytest.approx(2 * ERROR_TIME + 2.0 + backoff + TTFT)
    assert record.time_per_output_token == pytest.approx(ITL)
    stats = result.stats
    assert stats["throttled_requests"] == 1 and stats["throttled_share"] == pytest.approx(1 / 3)
    assert stats["total_retries"] == 2
    assert stats["total_retry_wait"] == pytest.approx(2.0 + backoff)
    assert stats["time_to_last_token_final_attempt-p50"] == pytest.approx(ANSWER_TIME)
    summary = format_summary(result)
    assert "its last attempt" in summary
    assert f"retries 2, {(2.0 + backoff):,.3f} s waited between them" in summary
    assert "as told by Retry-After" not in summary


async def test_backoff_is_seeded_by_the_run(autojump_clock: trio.testing.MockClock) -> None:
    """Without hints the waits are the policy's full-jitter draws for (seed, request): the
    same run twice waits the same, and each wait is within its doubling ceiling."""
    policy = Retry(max_attempts=4, base_delay=0.5)
    waits = []
    for _ in range(2):
        result = await run(scripted((500, None), (502, None), (503, None)), retry=policy)
        (record,) = result.responses
        assert record.attempts is not None
        waits.append([a.wait for a in record.attempts])
    rng = Retry.rng(7, 0)
    expected = [0.0] + [policy.wait(k, None, rng) for k in (1, 2, 3)]
    assert waits == [expected, expected]
    assert all(w <= 0.5 * 2 ** (k - 1) for k, w in enumerate(expected[1:], start=1))


async def test_what_does_not_retry(autojump_clock: trio.testing.MockClock) -> None:
    """A client error is not retried unless its status is listed; attempts stop at
    max_attempts, keeping the last failure."""
    result = await run(scripted((400, None)), retry=Retry(max_attempts=3))
    assert result.responses[0].retries == 0 and result.responses[0].status_code == 400
    result = await run(scripted((400, None)), retry=Retry(max_attempts=3, statuses=(400,)))
    assert result.responses[0].retries == 1 and not result.responses[0].failed
    result = await run(scripted(*[(429, 0.1)] * 5), retry=Retry(max_attempts=3))
    record = result.responses[0]
    assert record.retries == 2 and record.status_code == 429 and record.failed
    assert result.stats["throttled_share"] == 1.0


async def test_the_timeout_bounds_the_whole_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A wait that would pass the request timeout ends the retries there: the user's
    deadline holds, and the record is the last failure, its attempts kept."""
    result = await run(scripted((429, 3.0), (429, 3.0)), retry=Retry(max_attempts=5), timeout=5)
    (record,) = result.responses
    assert record.retries == 1 and record.status_code == 429
    assert result.total_test_time is not None and result.total_test_time < 5
    # a wait capped by max_wait
    result = await run(scripted((429, 30.0)), retry=Retry(max_attempts=2, max_wait=1.5))
    assert result.responses[0].attempts is not None
    assert result.responses[0].attempts[1].wait == 1.5


def test_retry_options_are_checked_and_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retry_on takes error classes"):
        Retry(retry_on=("nope",))
    with pytest.raises(ValueError, match="max_attempts"):
        Retry(max_attempts=0)
    with pytest.raises(ValueError, match="unknown retry options"):
        Retry.from_config({"attempts": 3})
    with pytest.raises(TypeError, match="retry takes a Retry"):
        plan_run(Runner(FakeEndpoint(), payload=PAYLOAD, retry=True))
    assert plan_run(Runner(FakeEndpoint(), payload=PAYLOAD, retry=1)).config.retry is None
    assert plan_run(Runner(FakeEndpoint(), payload=PAYLOAD, retry=4)).config.retry == (
        Retry(max_attempts=4).to_config()
    )
    policy = Retry(max_attempts=5, statuses=(408,))
    assert Retry.from_config(policy.to_config()) == policy
    runner = Runner(FakeEndpoint(), retry=policy, output_path=tmp_path)
    runner.save()
    assert Runner.load(tmp_path).retry == policy.to_config()


async def test_records_with_attempts_are_saved_and_reloaded(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """attempts, retries, waits and rate limits survive the run folder; so does the policy."""
    result = await run(scripted((429, 1.0)), retry={"max_attempts": 2}, output_path=tmp_path / "r")
    loaded = Result.load(str(tmp_path / "r"))
    assert loaded.responses == result.responses
    assert loaded.responses[0].attempts == result.responses[0].attempts
    assert loaded.run_config is not None and loaded.run_config.retry is not None
    assert loaded.run_config.retry["max_attempts"] == 2
    assert loaded.stats["total_retries"] == 1


# -- closed loops told to wait ------------------------------------------------------------


async def test_a_closed_loop_client_waits_as_told(autojump_clock: trio.testing.MockClock) -> None:
    """Without retries, the 429 is recorded and its client's next request leaves
    Retry-After later: the wait is on that record and in the summary."""
    result = await run(scripted((429, 2.5)), n_requests=2)
    first, second = sorted(result.responses, key=lambda r: r.send_time or 0)
    assert first.status_code == 429 and first.throttle_wait is None
    assert second.send_time == pytest.approx(ERROR_TIME + 2.5)
    assert second.throttle_wait == pytest.approx(2.5)
    assert second.intended_send_time == second.send_time  # a wait, not a lag
    assert result.stats["total_throttle_wait"] == pytest.approx(2.5)
    assert "2.500 s waited as told by Retry-After" in format_summary(result)
    assert "retries" not in format_summary(result)


async def test_respect_retry_after_off(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(scripted((429, 2.5)), n_requests=2, respect_retry_after=False)
    second = max(result.responses, key=lambda r: r.send_time or 0)
    assert second.send_time == pytest.approx(ERROR_TIME) and second.throttle_wait is None


async def test_an_open_loop_does_not_wait(autojump_clock: trio.testing.MockClock) -> None:
    """Arrivals are the load: a 429 changes nothing of when the next request leaves."""
    result = await run(scripted((429, 2.5)), n_requests=3, schedule=ConstantRate(rate=10))
    assert sorted(r.send_time or 0 for r in result.responses) == pytest.approx([0, 0.1, 0.2])
    assert result.stats["total_throttle_wait"] == 0


async def test_a_wait_past_the_run_end_sends_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await run(scripted((429, 60.0)), n_requests=None, run_duration=5)
    assert result.total_requests == 1 and result.total_test_time == pytest.approx(5)


# -- the simulator -------------------------------------------------------------------------


def sim_endpoint(base_url: str) -> OpenAIChatEndpoint:
    return OpenAIChatEndpoint(base_url=base_url, model_id="sim-model", api_key="sim")


SIM_PAYLOAD = OpenAIChatEndpoint.create_payload("one two three", max_tokens=4)


async def test_ten_clients_against_a_throttling_server_do_not_storm(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 11's case: 10 closed-loop clients, a server throttling every request with
    Retry-After 1 s, for 3 s. They sent 12,159 requests when 429s were answered at once;
    told to wait, each client sends one request a second: at most 10 * 4."""
    config = SimConfig(output_tokens=4, faults=Faults(throttle_rate=1.0, retry_after=1.0))
    async with simulated_server(config) as base_url:
        with trio.fail_after(600):
            result = await Runner(sim_endpoint(base_url), seed=1).run(
                payload=SIM_PAYLOAD, clients=10, run_duration=3
            )
    assert 30 <= result.total_requests <= 40
    assert result.stats["throttled_share"] == 1.0
    by_client: dict[int | None, list[float]] = {}
    for record in result.responses:
        assert record.status_code == 429 and record.retry_after == 1.0
        by_client.setdefault(record.client, []).append(record.send_time or 0)
    for sends in by_client.values():
        gaps = [b - a for a, b in zip(sorted(sends), sorted(sends)[1:], strict=False)]
        assert gaps and all(gap >= 1.0 for gap in gaps)
    summary = format_summary(result)
    assert "throttled" in summary and "as told by Retry-After" in summary


async def test_without_waiting_the_same_clients_storm(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The counterpart (bounded by a count, as a storm would not end in virtual time): with
    respect_retry_after=False each client asks again at once, 20 requests each in well
    under the 1 s it was told to wait."""
    config = SimConfig(output_tokens=4, faults=Faults(throttle_rate=1.0, retry_after=1.0))
    async with simulated_server(config) as base_url:
        with trio.fail_after(600):
            result = await Runner(sim_endpoint(base_url), seed=1).run(
                payload=SIM_PAYLOAD, clients=10, n_requests=20, respect_retry_after=False
            )
    assert result.total_requests == 200
    assert result.total_test_time is not None and result.total_test_time < 1.0
    assert result.stats["total_throttle_wait"] == 0


async def test_with_retries_every_request_succeeds_against_the_simulator(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Half the requests throttled (Retry-After 0.25 s): with retries every request ends
    answered, its 429s kept as attempts and waited as the server asked."""
    faults = Faults(throttle_rate=0.5, retry_after=0.25)
    async with simulated_server(SimConfig(output_tokens=4, faults=faults, seed=3)) as base_url:
        with trio.fail_after(600):
            result = await Runner(sim_endpoint(base_url), seed=1).run(
                payload=SIM_PAYLOAD, clients=4, n_requests=10, retry=Retry(max_attempts=20)
            )
    assert result.stats["failed_requests"] == 0 and result.total_requests == 40
    retried = [r for r in result.responses if r.retries]
    assert retried and result.stats["total_retries"] == sum(r.retries or 0 for r in retried)
    for record in retried:
        assert record.attempts is not None
        assert all(a.status_code == 429 for a in record.attempts[:-1])
        assert all(a.wait == 0.25 for a in record.attempts[1:])
    share = result.stats["throttled_share"]
    assert share == result.stats["total_retries"] / (40 + result.stats["total_retries"])


BUCKET_RPM = 120  # the simulator's quota: 2 requests a second, a minute's worth in the bucket


async def bucket_run(**options: Any) -> Result:
    faults = Faults(requests_per_minute=BUCKET_RPM)
    config = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=4, faults=faults)
    async with simulated_server(config) as base_url:
        with trio.fail_after(3600):
            return await Runner(sim_endpoint(base_url), seed=1).run(
                payload=SIM_PAYLOAD, clients=4, run_duration=240, **options
            )


def answered_per_second(result: Result, after: float) -> float:
    """Successful requests per second from `after` to the run's end (the bucket's burst of a
    minute's budget spent by then), by the send of the attempt that succeeded."""
    sends = []
    for record in result.responses:
        if not record.failed and record.send_time is not None:
            last = record.attempts[-1].send_time if record.attempts else record.send_time
            sends.append(last)
    steady = sorted(t for t in sends if t is not None and t >= after)
    return (len(steady) - 1) / (steady[-1] - steady[0])


async def test_with_retries_the_load_matches_the_token_bucket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 11's acceptance: against the simulator's token bucket, with retries every
    request ends answered, and the answered load matches the bucket's rate within 5%.
    (Clients told the same wait wake together and one wins: a request may lose many times
    in a row, so the timeout here is long enough for every one to win in the end.)"""
    result = await bucket_run(retry=Retry(max_attempts=1000), timeout=3600)
    assert result.stats["failed_requests"] == 0
    assert result.stats["throttled_requests"] > 0 and result.stats["total_retries"] > 0
    assert answered_per_second(result, after=90) == pytest.approx(BUCKET_RPM / 60, rel=0.05)
    assert result.stats["rate_limit"]["limit_requests"] == str(BUCKET_RPM)


async def test_without_retries_waits_follow_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Without retries each client's next request leaves exactly when the 429 said it
    would fit, so the answered load is the bucket's too."""
    result = await bucket_run()
    by_client: dict[int | None, list[InvocationResponse]] = {}
    for record in result.responses:
        by_client.setdefault(record.client, []).append(record)
    told = 0
    for records in by_client.values():
        records.sort(key=lambda r: r.send_time or 0)
        for before, after in itertools.pairwise(records):
            if before.retry_after:
                told += 1
                assert after.throttle_wait == pytest.approx(before.retry_after)
                end = (before.send_time or 0) + (before.time_to_last_token or 0)
                assert after.send_time == pytest.approx(end + before.retry_after, abs=1e-6)
            else:
                assert after.throttle_wait is None
    assert told > 100
    assert answered_per_second(result, after=90) == pytest.approx(BUCKET_RPM / 60, rel=0.05)


# -- nothing answers -------------------------------------------------------------------------


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("retry", [None, Retry(max_attempts=5)], ids=["no-retry", "retry"])
async def test_nothing_answers_stops_at_once(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, retry: Retry | None
) -> None:
    """A run whose first requests all fail to connect stops at once: one clear error, the
    folder saved and loadable, a record per client at most, never a storm."""
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(EndpointUnreachable, match=f"^nothing answers at {url}$") as caught:
        await Runner(sim_endpoint(url), seed=1).run(
            payload=SIM_PAYLOAD, clients=4, run_duration=30, output_path=tmp_path / "dead",
            retry=retry,
        )  # fmt: skip
    result = caught.value.result
    assert result.stop_reason == f"nothing answers at {url}"
    assert 1 <= result.total_requests <= 4
    assert result.total_test_time is not None and result.total_test_time < 1
    loaded = Result.load(str(tmp_path / "dead"))
    assert loaded.total_requests == result.total_requests
    assert loaded.stop_reason == result.stop_reason


async def test_nothing_answers_in_an_open_loop(autojump_clock: trio.testing.MockClock) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(EndpointUnreachable) as caught:
        await Runner(sim_endpoint(url), seed=1).run(
            payload=SIM_PAYLOAD, schedule=ConstantRate(rate=1000), run_duration=30
        )
    assert caught.value.result.total_requests <= 12


async def test_a_later_connection_failure_does_not_stop_the_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Once anything answered, the endpoint is there: connection failures are recorded."""
    result = await run(scripted(None, "connect", "connect"), n_requests=3)
    assert result.stop_reason is None and result.stats["errors_by_class"] == {"connection": 2}


def test_cli_nothing_answers_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    folder = tmp_path / "dead"
    code = main(
        ["run", "--endpoint", "openai-chat", "--base-url", url, "--model", "m", "--prompt", "hi",
         "--clients", "3", "--duration", "30", "--output", str(folder)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    (line,) = [text for text in captured.err.splitlines() if "llmeter-trio run" in text]
    assert line.startswith(f"llmeter-trio run: error: nothing answers at {url}")
    assert captured.out == ""  # no summary of a run that never reached anything
    assert "Traceback" not in captured.err
    assert Result.load(str(folder)).stop_reason == f"nothing answers at {url}"


def test_cli_retry_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--retry N is N retries; --retry-max-wait alone is a usage error."""
    payload = tmp_path / "p.jsonl"
    payload.write_text('{"prompt": "x", "fake": {"error": "throttled", "status_code": 429}}\n')
    folder = tmp_path / "r"
    args = ["run", "--endpoint", "fake", "--payload", str(payload), "--n-requests", "1",
            "--option", "time_to_first_token=0.001", "--retry", "2", "--retry-max-wait", "0.01",
            "--output", str(folder)]  # fmt: skip
    assert main(args) == 1  # every request failed, after its retries
    out = capsys.readouterr().out
    assert "retries 2" in out
    record = Result.load(str(folder)).responses[0]
    assert record.retries == 2 and record.attempts is not None
    assert all(a.wait <= 0.01 for a in record.attempts)
    assert main(["run", "--endpoint", "fake", "--prompt", "x", "--retry-max-wait", "1"]) == 2
    assert "--retry-max-wait needs --retry N" in capsys.readouterr().err
    assert main(["run", "--endpoint", "fake", "--prompt", "x", "--retry", "-1"]) == 2
    assert "--retry must be at least 0" in capsys.readouterr().err


# -- the statistics ----------------------------------------------------------------------------


def test_rate_limits_last_seen_whatever_the_order() -> None:
    """The rate limits reported are the latest answer's by send time, in any feeding order."""
    records = [
        InvocationResponse("x", send_time=float(t), rate_limit={"remaining_requests": str(9 - t)})
        for t in range(5)
    ]
    throttled = InvocationResponse.error_output("429", ErrorClass.THROTTLED, status_code=429)
    for order in (records, records[::-1]):
        stats = RunStats.of([*order, throttled]).to_dict(10.0)
        assert stats["rate_limit"] == {"remaining_requests": "5"}
        assert stats["throttled_requests"] == 1
        assert stats["throttled_share"] == pytest.approx(1 / 6)


@given(st.lists(invocation_responses(), max_size=12), st.randoms(use_true_random=False))
def test_throttling_stats_are_brute_force_in_any_order(
    records: list[InvocationResponse], rng: random.Random
) -> None:
    """Throttled attempts, retries and waits equal a count over the records, fed in any order."""
    measured = [r for r in records if r.excluded is None]
    outcomes: list[Attempt | InvocationResponse] = []
    for record in measured:
        outcomes.extend(record.attempts or [record])
    throttled = sum(o.status_code == 429 or o.error_class is ErrorClass.THROTTLED for o in outcomes)
    shuffled = records[:]
    rng.shuffle(shuffled)
    keys = ("throttled_requests", "throttled_share", "total_retries", "total_retry_wait",
            "total_throttle_wait", "rate_limit")  # fmt: skip
    stats = RunStats.of(records).to_dict(1.0)
    again = RunStats.of(shuffled).to_dict(1.0)
    assert {k: stats[k] for k in keys[:3] + keys[5:]} == {k: again[k] for k in keys[:3] + keys[5:]}
    assert stats["throttled_requests"] == throttled
    assert stats["throttled_share"] == (throttled / len(outcomes) if outcomes else 0.0)
    assert stats["total_retries"] == sum(len(r.attempts) - 1 for r in measured if r.attempts)
    assert stats["total_retry_wait"] == pytest.approx(sum(r.retry_wait or 0 for r in measured))
    assert stats["total_throttle_wait"] == pytest.approx(
        sum(r.throttle_wait or 0 for r in measured)
    )
