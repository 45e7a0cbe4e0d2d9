"""Hypothesis strategies shared by the test suite; grow them with each feature."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import strategies as st

from llmeter_trio.endpoints import (
    Attempt,
    Chunk,
    ChunkKind,
    ErrorClass,
    InvocationResponse,
    TokenCountSource,
)

# Durations that are exact binary fractions, so sums on a MockClock stay exact.
dyadic_seconds = st.integers(min_value=1, max_value=64).map(lambda n: n / 64)
finite_seconds = st.floats(min_value=0, max_value=600, allow_nan=False, allow_infinity=False)
token_counts = st.integers(min_value=0, max_value=100_000)
short_text = st.text(max_size=40)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | short_text
payloads = st.dictionaries(
    st.text(min_size=1, max_size=10),
    json_scalars | st.lists(json_scalars, max_size=3) | st.binary(max_size=16),
    max_size=4,
)
utc_datetimes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=timezone.utc)
)


@st.composite
def chunk_timelines(draw: st.DrawFn) -> list[Chunk]:
    """Chunks with non-decreasing times, as a stream produces them."""
    gaps = draw(st.lists(finite_seconds.map(lambda s: s / 600), max_size=12))
    chunks, now = [], 0.0
    for gap in gaps:
        now += gap
        chunks.append(
            Chunk(
                now,
                draw(st.sampled_from(ChunkKind)),
                draw(st.integers(0, 200)),
                draw(st.none() | st.integers(0, 8)),
            )
        )
    return chunks


@st.composite
def invocation_responses(draw: st.DrawFn) -> InvocationResponse:
    """Any record an endpoint or the engine could produce, failed or not."""
    failed = draw(st.booleans())
    optional_seconds = st.none() | finite_seconds
    optional_tokens = st.none() | token_counts
    return InvocationResponse(
        response_text=draw(st.none() | short_text),
        id=draw(st.none() | short_text),
        input_payload=draw(st.none() | payloads),
        input_prompt=draw(st.none() | short_text),
        time_to_first_token=draw(optional_seconds),
        time_to_first_content_token=draw(optional_seconds),
        time_to_last_token=draw(optional_seconds),
        num_tokens_input=draw(optional_tokens),
        num_tokens_output=draw(optional_tokens),
        num_tokens_input_cached=draw(optional_tokens),
        num_tokens_output_reasoning=draw(optional_tokens),
        time_per_output_token=draw(optional_seconds),
        error=draw(short_text) if failed else None,
        error_class=draw(st.sampled_from(ErrorClass)) if failed else None,
        status_code=draw(st.none() | st.integers(100, 599)),
        retries=draw(st.none() | st.integers(0, 5)),
        request_time=draw(st.none() | utc_datetimes),
        chunks=draw(chunk_timelines()),
        num_tokens_input_source=draw(st.none() | st.sampled_from(TokenCountSource)),
        num_tokens_output_source=draw(st.none() | st.sampled_from(TokenCountSource)),
        intended_send_time=draw(optional_seconds),
        send_time=draw(optional_seconds),
        connect_time=draw(optional_seconds),
        client=draw(st.none() | st.integers(0, 1000)),
        stop_reason=draw(st.none() | st.sampled_from(["end_turn", "max_tokens", "stop"])),
        num_tokens_input_cache_write=draw(optional_tokens),
        attempts=draw(st.none() | st.lists(attempts(), min_size=1, max_size=4)),
        retry_wait=draw(optional_seconds),
        throttle_wait=draw(optional_seconds),
        retry_after=draw(optional_seconds),
        rate_limit=draw(st.none() | rate_limits),
    )


RATE_LIMIT_KEYS = [f"{part}_{budget}" for budget in ("requests", "tokens")
                   for part in ("limit", "remaining", "reset")]  # fmt: skip
rate_limits = st.dictionaries(
    st.sampled_from(RATE_LIMIT_KEYS),
    st.sampled_from(["0", "1", "60", "150000", "1s", "6m0s", "20ms"]),
    min_size=1,
)


@st.composite
def attempts(draw: st.DrawFn) -> Attempt:
    """One attempt of a retried request."""
    optional_seconds = st.none() | finite_seconds
    return Attempt(
        send_time=draw(optional_seconds),
        status_code=draw(st.none() | st.sampled_from([200, 429, 500, 503])),
        error_class=draw(st.none() | st.sampled_from(ErrorClass)),
        time_to_first_token=draw(optional_seconds),
        time_to_last_token=draw(optional_seconds),
        wait=draw(finite_seconds),
        retry_after=draw(optional_seconds),
    )


def fake_spec(ttft: float, itl: float, tokens: int, per_chunk: int) -> dict[str, object]:
    """A FakeEndpoint per-request override."""
    return {
        "time_to_first_token": ttft,
        "inter_token_latency": itl,
        "output_tokens": tokens,
        "tokens_per_chunk": per_chunk,
    }


__all__ = [
    "chunk_timelines",
    "dyadic_seconds",
    "fake_spec",
    "invocation_responses",
    "payloads",
]


# -- prompts, payload files and the latency heatmap --

seeds = st.integers(min_value=0, max_value=2**32 - 1)
# distinct token lengths, as a LatencyHeatmap or CreatePromptCollection takes them
token_lengths = st.lists(
    st.integers(min_value=1, max_value=400), min_size=1, max_size=4, unique=True
)
payload_lists = st.lists(payloads, min_size=1, max_size=6)

__all__ += ["payload_lists", "seeds", "token_lengths"]
