"""Ground truth, end to end: full Runner runs against the simulated server over loopback HTTP.

Each test configures the simulated server (`SimConfig`), runs the real `Runner` with a real
endpoint (``openai-chat``, ``openai-completions``, ``openai-responses``, ``anthropic-messages``,
streaming) over HTTP on 127.0.0.1, and compares the `Result`'s statistics with what the
server was told to do. The truth comes from the server's own latency model (`plan`), so
the expected numbers are computed, never eyeballed.

Each timing test runs twice (the `clock` fixture). The server runs inside the test's own
trio run, on the same clock as the client (`trio.current_time()`), and sends each chunk no
earlier than its planned instant after it has read the request. So a measured time to first
token, first content token or last token is never below the truth, on either clock.

- In virtual time (a MockClock that jumps ahead whenever every task waits) the trip
  through httpx, the server and the kernel takes no time: every measured time *is* the
  truth, and a percentile is off only by its log histogram's 0.5% relative error.
- On the real clock (``realtime``) what is measured above the truth is the request's trip
  through httpx, the simulated server and the event loop, the kernel's timer granularity
  (the server's sleeps wake up to ~4 ms late), and on a busy machine the moments the
  process waited for a CPU. Each bound is what an idle machine adds plus the worst
  event-loop lag the test watched (`Timing.late`, tests/_support/lag.py): a p50 may be
  `LATE` = 15 ms above the truth, any one request `LATE_ONE` = 30 ms; the mean inter-token
  latency, a difference of two arrivals that telescopes to (last chunk - first chunk) /
  tokens after the first chunk, may be off by `GAP` = 2 ms, and its p50 or the time per
  output token by `GAP_P50` = 4 ms. On an idle machine that is less than one inter-token gap
  (25 ms), so an error of a token, or of a Responses API event, is caught there too.
- Token counts are exact on both clocks: they come from the server's usage report.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest
import trio
import trio.testing

from llmeter_trio import InvocationResponse, Result, Runner
from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    Chunk,
    ChunkKind,
    ErrorClass,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    TokenCountSource,
)
from llmeter_trio.sim import Fault, Faults, Plan, SimConfig, plan, simulated_server
from llmeter_trio.stats import LogHistogram

from ._support.lag import EXACT, Timing

# On the real clock, on an idle machine, in seconds (each widened by the lag the test saw):
LATE = 0.015  # a p50 may be above the truth
LATE_ONE = 0.030  # any one request's time may be above the truth
GAP = 0.002  # the mean inter-token latency may be off
GAP_P50 = 0.004  # the p50 inter-token latency and time per output token may be off
TIME_LIMIT = 15  # seconds of trio time any one test may take

INPUT_WORDS = 20  # the simulated server counts one token per whitespace-separated word
PROMPT = " ".join(["word"] * INPUT_WORDS)

Endpoint = (
    type[OpenAIChatEndpoint]
    | type[OpenAICompletionsEndpoint]
    | type[OpenAIResponsesEndpoint]
    | type[AnthropicMessagesEndpoint]
)
ALL_ENDPOINTS = [
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    AnthropicMessagesEndpoint,
]
REASONING_ENDPOINTS = [OpenAIChatEndpoint, OpenAIResponsesEndpoint]  # /completions has none
THINKING = {"type": "enabled", "budget_tokens": 1024}  # Anthropic's extended thinking


# -- helpers -------------------------------------------------------------------------------


async def run_sim(
    config: SimConfig,
    cls: Endpoint,
    *,
    clients: int = 2,
    n_requests: int = 2,
    request_timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> Result:
    """One Runner run of `cls` against a simulated server configured by `config`."""
    async with simulated_server(config) as base_url:
        endpoint: OpenAIChatEndpoint | AnthropicMessagesEndpoint
        if cls is AnthropicMessagesEndpoint:  # its base URL is the origin; max_tokens required
            endpoint = cls(
                base_url=base_url.removesuffix("/v1"),
                model_id=config.model,
                api_key="sk-ant-test",
                extra_headers=headers or {},
            )
            payload = cls.create_payload(PROMPT, 4096, thinking=THINKING)
        else:
            endpoint = cls(base_url=base_url, model_id=config.model, extra_headers=headers or {})
            payload = cls.create_payload(PROMPT, None)  # no length limit: output_tokens applies
        return await Runner(endpoint).run(
            payload=[payload],
            clients=clients,
            n_requests=n_requests,
            timeout=request_timeout,
            seed=1,
        )


def truth(config: SimConfig, cls: Endpoint, fault: Fault = Fault.NONE) -> Plan:
    """The server's timeline for our prompt (no jitter configured: the draw is irrelevant)."""
    return plan(
        config,
        random.Random(0),
        input_tokens=INPUT_WORDS,
        reasoning=cls is not OpenAICompletionsEndpoint,
        fault=fault,
    )


def first_content_at(timeline: Plan) -> float:
    return next(chunk.at for chunk in timeline.chunks if not chunk.reasoning)


def decode_time_per_token(timeline: Plan) -> float:
    """Time per output token as defined: first content token to end, over content tokens - 1."""
    return (timeline.chunks[-1].at - first_content_at(timeline)) / (timeline.content_tokens - 1)


def succeeded(result: Result, count: int) -> list[InvocationResponse]:
    stats = result.stats
    assert stats["failed_requests"] == 0, stats["errors_by_class"]
    assert stats["total_requests"] == count
    return result.responses


def from_histogram(value: float) -> float:
    """How far a percentile of `value`s may be from `value`: the log histogram's error."""
    return value * LogHistogram.RELATIVE_ERROR


def check_late(name: str, result: Result, expected: float, timing: Timing) -> None:
    """`name` is never below `expected`; each request's at most `LATE_ONE` above it and the
    p50 at most `LATE` (widened by the lag seen; in virtual time: exactly `expected`)."""
    values = [getattr(record, name) for record in result.responses]
    allowed = timing.late(LATE_ONE)
    assert all(
        value is not None and expected - EXACT <= value <= expected + allowed for value in values
    ), (name, values, expected, allowed)
    p50 = result.stats[f"{name}-p50"]
    allowed = timing.late(LATE) + from_histogram(expected)
    assert p50 - expected <= allowed, (
        f"{name} p50 {p50:.4f} s, truth {expected:.4f} s, allowed {allowed:.4f} s late"
    )


def check_gap(measured: float, expected: float, calm: float, timing: Timing) -> None:
    """A difference of two arrival times: within `calm` (widened by the lag seen) either way."""
    assert abs(measured - expected) <= timing.late(calm), (measured, expected, timing)


def check_itl(stats: dict[str, Any], expected: float, timing: Timing) -> None:
    check_gap(stats["inter_token_latency-average"], expected, GAP, timing)
    check_gap(
        stats["inter_token_latency-p50"], expected, GAP_P50 + from_histogram(expected), timing
    )


# -- latencies -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_ENDPOINTS)
@pytest.mark.parametrize("tokens_per_chunk", [1, 3])
async def test_latencies_and_counts_match_the_server(
    cls: Endpoint, tokens_per_chunk: int, clock: object, timing: Timing
) -> None:
    """TTFT (with its per-input-token part), time to last token, ITL and TPOT match the
    server's model; token counts are exact; chunks are not tokens.

    With 3 tokens a chunk, 12 tokens arrive in 4 chunks 75 ms apart: the inter-token
    latency is still 25 ms, and the first chunk's 3 tokens arrive together, so the time per
    output token is 25 ms * 9 / 11 by its definition.
    """
    config = SimConfig(
        ttft_base=0.15,
        ttft_per_input_token=0.001,  # + 20 ms for our 20 words
        itl=0.025,
        output_tokens=12,
        tokens_per_chunk=tokens_per_chunk,
    )
    timeline = truth(config, cls)
    assert timeline.chunks[0].at == pytest.approx(0.17)
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(config, cls)
    records = succeeded(result, 4)
    stats = result.stats

    check_late("time_to_first_token", result, timeline.chunks[0].at, timing)
    check_late("time_to_first_content_token", result, timeline.chunks[0].at, timing)
    check_late("time_to_last_token", result, timeline.chunks[-1].at, timing)
    check_itl(stats, config.itl, timing)
    expected_tpot = config.itl * (12 - tokens_per_chunk) / 11
    tpot = stats["time_per_output_token-p50"]
    check_gap(tpot, expected_tpot, GAP_P50 + from_histogram(expected_tpot), timing)

    assert stats["total_output_tokens"] == 4 * 12
    assert stats["total_input_tokens"] == 4 * INPUT_WORDS
    for record in records:
        assert record.num_tokens_output == 12
        assert record.num_tokens_input == INPUT_WORDS
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert record.num_tokens_input_source is TokenCountSource.SERVER
        assert len(record.chunks) == len(timeline.chunks)  # one chunk per server chunk
        assert record.chunk_tokens() == [chunk.tokens for chunk in timeline.chunks]
        assert {chunk.kind for chunk in record.chunks} == {ChunkKind.CONTENT}


@pytest.mark.parametrize(
    ("cls", "style"),
    [
        (OpenAIChatEndpoint, "summary"),  # chat: reasoning_content deltas
        (OpenAIResponsesEndpoint, "summary"),  # reasoning summary deltas (OpenAI's models)
        (OpenAIResponsesEndpoint, "text"),  # raw reasoning text deltas (open-weight models)
    ],
)
async def test_reasoning_first_streams(
    cls: Endpoint, style: str, clock: object, timing: Timing
) -> None:
    """Time to first token is the first reasoning chunk; the first content token comes
    `itl` * reasoning tokens later; reasoning and output counts are exact."""
    config = SimConfig(
        ttft_base=0.1,
        itl=0.025,
        output_tokens=12,
        reasoning_tokens=4,
        responses_reasoning=style,  # type: ignore[arg-type]
    )
    timeline = truth(config, cls)
    first_content = config.ttft_base + config.itl * 4
    assert first_content_at(timeline) == pytest.approx(first_content)
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(config, cls)
    records = succeeded(result, 4)
    stats = result.stats

    check_late("time_to_first_token", result, config.ttft_base, timing)
    check_late("time_to_first_content_token", result, first_content, timing)
    check_late("time_to_last_token", result, timeline.chunks[-1].at, timing)
    check_itl(stats, config.itl, timing)
    # 8 content tokens, 175 ms from the first to the last: 25 ms per token
    tpot = decode_time_per_token(timeline)
    check_gap(stats["time_per_output_token-p50"], tpot, GAP_P50 + from_histogram(tpot), timing)
    assert stats["total_reasoning_output_tokens"] == 4 * 4
    for record in records:
        assert (record.num_tokens_output, record.num_tokens_output_reasoning) == (12, 4)
        assert [chunk.kind for chunk in record.chunks] == [ChunkKind.REASONING] * 4 + [
            ChunkKind.CONTENT
        ] * 8
        assert record.response_text == "tok " * 8  # reasoning is not output text


async def test_anthropic_thinking_streams_first(clock: object, timing: Timing) -> None:
    """Anthropic's thinking block streams before the text: time to first token is the first
    thinking delta, the first content token comes `itl` * thinking tokens later, the output
    count is the server's (thinking included). The API reports no thinking count of its own,
    so time per output token spreads the decode time over every output token but the first."""
    config = SimConfig(ttft_base=0.1, itl=0.025, output_tokens=12, reasoning_tokens=4)
    timeline = truth(config, AnthropicMessagesEndpoint)
    first_content = config.ttft_base + config.itl * 4
    assert first_content_at(timeline) == pytest.approx(first_content)
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(config, AnthropicMessagesEndpoint)
    records = succeeded(result, 4)
    stats = result.stats

    check_late("time_to_first_token", result, config.ttft_base, timing)
    check_late("time_to_first_content_token", result, first_content, timing)
    check_late("time_to_last_token", result, timeline.chunks[-1].at, timing)
    check_itl(stats, config.itl, timing)
    tpot = (timeline.chunks[-1].at - first_content) / 11
    check_gap(stats["time_per_output_token-p50"], tpot, GAP_P50 + from_histogram(tpot), timing)
    for record in records:
        assert record.time_to_first_token is not None
        assert record.time_to_first_content_token is not None
        assert record.time_to_first_token < record.time_to_first_content_token
        assert (record.num_tokens_output, record.num_tokens_output_reasoning) == (12, None)
        assert (record.num_tokens_input, record.num_tokens_input_cache_write) == (INPUT_WORDS, 0)
        assert record.stop_reason == "end_turn"
        assert [chunk.kind for chunk in record.chunks] == [ChunkKind.REASONING] * 4 + [
            ChunkKind.CONTENT
        ] * 8
        assert record.response_text == "tok " * 8  # thinking is not output text


@pytest.mark.parametrize("cls", REASONING_ENDPOINTS)
async def test_reasoning_with_multi_token_chunks(
    cls: Endpoint, clock: object, timing: Timing
) -> None:
    """Reasoning-first stream in 4-token chunks: each chunk's tokens, and so the ITL, exact."""
    config = SimConfig(
        ttft_base=0.1, itl=0.025, output_tokens=16, reasoning_tokens=8, tokens_per_chunk=4
    )
    sent = [chunk.tokens for chunk in truth(config, cls).chunks]
    assert sent == [4, 4, 4, 4]  # 2 reasoning chunks, then 2 content chunks
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(config, cls, clients=1, n_requests=2)
    records = succeeded(result, 2)
    for record in records:
        assert (record.num_tokens_output, record.num_tokens_output_reasoning) == (16, 8)
        assert record.chunk_tokens() == sent  # today: [5, 5, 3, 3]
    check_itl(result.stats, config.itl, timing)


# -- queueing --------------------------------------------------------------------------------


async def test_server_queueing_shows_in_time_to_first_token(clock: object, timing: Timing) -> None:
    """One slot, three clients: the second and third wait for the ones before them, and that
    wait is in their time to first token; their decode time is untouched.

    The requests leave together and each waits for the whole of the one before: their
    TTFTs are 100, 280 and 460 ms, each 180 ms after the previous. On the real clock each
    step is checked within `LATE` (the requests leave a few ms apart, and each waits for a
    request that may itself have ended a few ms late); the first TTFT, a single request on
    new connections with no median to lean on, within `LATE_ONE`.
    """
    config = SimConfig(ttft_base=0.1, itl=0.02, output_tokens=5, max_concurrency=1)
    duration = 0.1 + 4 * 0.02  # each request holds the slot this long
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(config, OpenAIChatEndpoint, clients=3, n_requests=1)
    records = succeeded(result, 3)
    ttfts = sorted(record.time_to_first_token or math.nan for record in records)
    assert config.ttft_base - EXACT <= ttfts[0] <= config.ttft_base + timing.late(LATE_ONE)
    for before, after in itertools.pairwise(ttfts):
        check_gap(after - before, duration, LATE, timing)
    for record in records:
        assert record.time_to_last_token is not None
        assert record.time_to_first_token is not None
        decode = record.time_to_last_token - record.time_to_first_token
        check_gap(decode, 4 * config.itl, LATE, timing)
    check_gap(result.stats["time_per_output_token-max"], config.itl, GAP_P50, timing)


# -- faults ----------------------------------------------------------------------------------

FAST = SimConfig(ttft_base=0.02, itl=0.01, output_tokens=4)


@pytest.mark.parametrize(
    ("cls", "fault", "error_class", "status"),
    [
        (OpenAIChatEndpoint, "429", ErrorClass.THROTTLED, 429),
        (OpenAIChatEndpoint, "500", ErrorClass.SERVER, 500),
        (OpenAIChatEndpoint, "503", ErrorClass.SERVER, 503),
        (OpenAIChatEndpoint, "drop", ErrorClass.CONNECTION, None),
        (OpenAICompletionsEndpoint, "drop", ErrorClass.CONNECTION, None),
        (OpenAIResponsesEndpoint, "drop", ErrorClass.CONNECTION, None),
        (OpenAIResponsesEndpoint, "429", ErrorClass.THROTTLED, 429),
        (AnthropicMessagesEndpoint, "429", ErrorClass.THROTTLED, 429),
        (AnthropicMessagesEndpoint, "529", ErrorClass.SERVER, 529),
        (AnthropicMessagesEndpoint, "500", ErrorClass.SERVER, 500),
        (AnthropicMessagesEndpoint, "drop", ErrorClass.CONNECTION, None),
    ],
)
async def test_faults_are_classified(
    cls: Endpoint,
    fault: str,
    error_class: ErrorClass,
    status: int | None,
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Injected 429, 5xx and dropped connections land in the right `errors_by_class` bucket,
    keep their status and message, and stay out of the latency statistics."""
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(FAST, cls, clients=1, headers={"x-sim-fault": fault})
    stats = result.stats
    assert stats["errors_by_class"] == {error_class.value: 2}
    assert stats["failed_requests"] == stats["total_requests"] == 2
    assert stats["failed_requests_rate"] == 1.0
    assert "time_to_first_token-p50" not in stats  # failures make no latency statistics
    for record in result.responses:
        assert record.error_class is error_class
        assert record.error
        if status is not None:
            assert record.status_code == status
            assert f"HTTP {status}" in record.error
        else:  # the connection closed after the first chunk went out
            assert "broke off" in record.error
            assert len(record.chunks) == 1


@pytest.mark.parametrize(
    ("fault", "error_class", "error_type"),
    [
        ("stream-529", ErrorClass.SERVER, "overloaded_error"),
        ("stream-429", ErrorClass.THROTTLED, "rate_limit_error"),
        ("stream-500", ErrorClass.SERVER, "api_error"),
    ],
)
async def test_anthropic_error_events_are_classified(
    fault: str, error_class: ErrorClass, error_type: str, autojump_clock: trio.testing.MockClock
) -> None:
    """An ``error`` event after the first chunk: the request fails with the class of the
    error's type (the HTTP status was 200), and keeps the chunk it had received."""
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(
            FAST, AnthropicMessagesEndpoint, clients=1, headers={"x-sim-fault": fault}
        )
    assert result.stats["errors_by_class"] == {error_class.value: 2}
    for record in result.responses:
        assert record.error_class is error_class
        assert record.status_code == 200
        assert record.error is not None and record.error.startswith(f"{error_type}: ")
        assert len(record.chunks) == 1


async def test_a_stall_is_one_long_gap(clock: object, timing: Timing) -> None:
    """A 300 ms pause mid-stream, inside the timeout: the request succeeds, its time to last
    token includes the pause, and the pause is one long inter-token gap."""
    config = SimConfig(
        ttft_base=0.1,
        itl=0.02,
        output_tokens=8,
        faults=Faults(stall_duration=0.3, stall_after_chunks=2),
    )
    timeline = truth(config, OpenAIChatEndpoint, Fault.STALL)
    assert timeline.chunks[-1].at == pytest.approx(0.1 + 7 * 0.02 + 0.3)
    with trio.fail_after(TIME_LIMIT):
        result = await run_sim(
            config, OpenAIChatEndpoint, clients=1, headers={"x-sim-fault": "stall"}
        )
    succeeded(result, 2)
    stats = result.stats
    check_late("time_to_first_token", result, 0.1, timing)
    check_late("time_to_last_token", result, timeline.chunks[-1].at, timing)
    check_gap(stats["inter_token_latency-max"], 0.3 + config.itl, LATE, timing)
    check_gap(
        stats["inter_token_latency-p50"], config.itl, GAP_P50 + from_histogram(config.itl), timing
    )


async def test_the_run_timeout_cuts_a_stalled_stream(clock: object, timing: Timing) -> None:
    """A stream stalled for 30 s is cut at the run's 0.4 s request timeout: each request is
    a `timeout` failure, and the run takes 2 * 0.4 s, not a minute."""
    config = SimConfig(
        ttft_base=0.02,
        itl=0.01,
        output_tokens=4,
        faults=Faults(stall_duration=30.0, stall_after_chunks=1),
    )
    with trio.fail_after(TIME_LIMIT):
        start = trio.current_time()
        result = await run_sim(
            config,
            OpenAIChatEndpoint,
            clients=1,
            request_timeout=0.4,
            headers={"x-sim-fault": "stall"},
        )
        elapsed = trio.current_time() - start
    stats = result.stats
    assert stats["errors_by_class"] == {"timeout": 2}
    for record in result.responses:
        assert record.error_class is ErrorClass.TIMEOUT
        assert record.error is not None and "0.4 s request timeout" in record.error
    assert 0.8 - EXACT <= elapsed <= 0.8 + timing.late(LATE_ONE), elapsed
    assert result.total_test_time is not None and result.total_test_time >= 0.8


# -- how inter-token latency spreads tokens over chunks ------------------------------------------


def test_inter_token_latencies_add_up_to_the_token_span() -> None:
    """Tokens at 0.0, 0.3 and 0.4 s, with a token-less chunk (e.g. whitespace a server
    streamed on its own, or a chunk whose character share rounds to no token) at 0.2 s: the
    gaps between tokens are 0.3 and 0.1 s, adding up to the 0.4 s from first to last token."""
    record = InvocationResponse(
        num_tokens_output=3,
        chunks=[
            Chunk(0.0, ChunkKind.CONTENT, chars=3, tokens=1),
            Chunk(0.2, ChunkKind.CONTENT, chars=1, tokens=0),
            Chunk(0.3, ChunkKind.CONTENT, chars=3, tokens=1),
            Chunk(0.4, ChunkKind.CONTENT, chars=3, tokens=1),
        ],
    )
    assert sum(record.inter_token_latencies()) == pytest.approx(0.4)
    assert record.inter_token_latencies() == pytest.approx([0.3, 0.1])
