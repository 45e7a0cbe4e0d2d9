"""Ground truth: what a client on loopback measures matches the latency model.

Each test runs twice (the `clock` fixture): in virtual time, where the in-process server
and client share a MockClock and every arrival lands exactly on its planned instant; and
on the real clock (``realtime``), where an arrival may come up to `CALM` later than
planned on an idle machine, plus the worst event-loop lag the test saw (`Timing.late`).
The server never sends early, so an arrival is never before its instant.
"""

from __future__ import annotations

import httpx
import pytest
import trio

from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.sim._server import Engine

from .._support.lag import EXACT, Timing
from ._support import CHAT, COMPLETIONS, RESPONSES, Timed, chat_body, content_times, timed_stream

CALM = 0.01  # seconds an idle machine adds to an arrival over loopback, on the real clock


def at(measured: float, planned: float, timing: Timing, waits: int = 1) -> None:
    """`measured` is `planned`, or later by what each of `waits` waits may add."""
    assert planned - EXACT <= measured <= planned + waits * timing.late(CALM), (measured, planned)


def close(measured: float, expected: float, timing: Timing) -> None:
    """`measured` is `expected`, give or take what one wait may add (either way)."""
    assert abs(measured - expected) <= timing.late(CALM), (measured, expected)


async def warm(client: httpx.AsyncClient, url: str) -> None:
    """Open the connection and warm both ends up before anything is timed."""
    for _ in range(3):
        assert (await client.get(url.removesuffix("/v1") + "/health")).status_code == 200


async def test_ttft_and_total_time_match_the_model(
    engine: Engine, clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.2, itl=0.05, output_tokens=10)
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await warm(client, url)
            timed = await timed_stream(client, CHAT, chat_body(stream=True))
    times = content_times(timed)
    assert len(times) == 10  # 50 ms apart: each token arrives on its own
    at(timed.first, 0.2, timing)  # role + first token together
    at(timed.total, 0.2 + 9 * 0.05, timing)
    for i, t in enumerate(times):
        at(t, 0.2 + 0.05 * i, timing)


@pytest.mark.parametrize("path", [COMPLETIONS, RESPONSES])
async def test_other_apis_keep_the_same_clock(path: str, clock: object, timing: Timing) -> None:
    config = SimConfig(ttft_base=0.15, itl=0.04, output_tokens=5)
    body = {"prompt": "x", "input": "x", "stream": True}
    marker = b'"text":"tok' if path == COMPLETIONS else b"response.output_text.delta"
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            await warm(client, url)
            timed = await timed_stream(client, path, body)
    times = content_times(timed, marker)
    assert len(times) == 5
    at(times[0], 0.15, timing)
    at(timed.total, 0.15 + 4 * 0.04, timing)


async def test_ttft_grows_with_the_prompt_and_chunks_wait_for_their_tokens(
    clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.05, ttft_per_input_token=0.01, itl=0.03, tokens_per_chunk=2)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            await warm(client, url)
            timed = await timed_stream(
                client, CHAT, chat_body("w " * 10, stream=True, max_tokens=6)
            )
    times = content_times(timed)
    assert len(times) == 3
    expected = [0.05 + 0.1, 0.15 + 0.06, 0.15 + 0.12]
    for t, e in zip(times, expected, strict=True):
        at(t, e, timing)


async def test_whole_response_arrives_when_the_last_token_would(
    clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.1, itl=0.02, output_tokens=11)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            await warm(client, url)
            start = trio.current_time()
            response = await client.post(CHAT, json=chat_body())
            elapsed = trio.current_time() - start
    assert response.status_code == 200
    at(elapsed, 0.1 + 10 * 0.02, timing)


async def test_queued_requests_wait_and_the_wait_counts_toward_ttft(
    engine: Engine, clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.1, itl=0.02, output_tokens=5, max_concurrency=2)
    duration = 0.1 + 4 * 0.02
    results: list[Timed] = []
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await warm(client, url)

            async def one() -> None:
                results.append(await timed_stream(client, CHAT, chat_body(stream=True)))

            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(one)
    ttfts = sorted(r.first for r in results)
    totals = sorted(r.total for r in results)
    at(ttfts[0], 0.1, timing)
    at(ttfts[1], 0.1, timing)
    # the third waits for a slot: the first request's whole duration, then its own TTFT
    at(ttfts[2], duration + 0.1, timing, waits=2)
    at(totals[2], 2 * duration, timing, waits=2)


async def test_a_single_slot_serves_requests_one_after_another(
    clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.1, itl=0.05, output_tokens=3, max_concurrency=1)
    results: list[Timed] = []
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            await warm(client, url)

            async def one() -> None:
                results.append(await timed_stream(client, CHAT, chat_body(stream=True)))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(one)
                nursery.start_soon(one)
    first, second = sorted(results, key=lambda r: r.first)
    at(first.first, 0.1, timing)
    close(second.first, first.total + 0.1, timing)


async def test_a_client_that_leaves_frees_its_slot(
    engine: Engine, clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.05, itl=0.05, output_tokens=40, max_concurrency=1)
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await warm(client, url)
            async with client.stream("POST", CHAT, json=chat_body(stream=True)) as response:
                async for _ in response.aiter_raw():
                    break  # first token seen: hang up (2 s of stream left)
            timed = await timed_stream(client, CHAT, chat_body(stream=True, max_tokens=1))
    at(timed.first, 0.05, timing)


async def test_responses_api_announces_the_response_before_its_first_token(
    engine: Engine, clock: object, timing: Timing
) -> None:
    config = SimConfig(ttft_base=0.2, itl=0.01, output_tokens=3, max_concurrency=1)
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await warm(client, url)
            timed = await timed_stream(client, RESPONSES, {"input": "x", "stream": True})
    assert b"response.created" in timed.arrivals[0][1]
    at(timed.first, 0.0, timing)  # the first event is not a token
    deltas = content_times(timed, b"response.output_text.delta")
    at(deltas[0], 0.2, timing)
