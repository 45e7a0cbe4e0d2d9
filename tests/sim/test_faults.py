"""Injected faults, forced per request or drawn at seeded rates, as a client sees them."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
import trio

from llmeter_trio.sim import Faults, SimConfig, simulated_server
from llmeter_trio.sim._server import Engine

from .._support.lag import EXACT, Timing
from ._support import CHAT, COMPLETIONS, RESPONSES, chat_body, content_times, timed_stream

CALM = 0.01  # seconds an idle machine adds to an arrival over loopback, on the real clock


def fault(name: str) -> dict[str, str]:
    return {"x-sim-fault": name}


async def test_forced_429_says_when_to_retry(clock: object, timing: Timing) -> None:
    config = SimConfig(faults=Faults(retry_after=2.5))
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            start = trio.current_time()
            response = await client.post(CHAT, json=chat_body(stream=True), headers=fault("429"))
            elapsed = trio.current_time() - start
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["retry-after-ms"] == "2500"
    error = response.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert elapsed <= timing.late(CALM)  # refused at once, before any work (TTFT is 50 ms)


@pytest.mark.parametrize("status", [500, 503])
async def test_forced_server_errors(status: int) -> None:
    with trio.fail_after(10):
        async with simulated_server() as url, httpx.AsyncClient(base_url=url) as client:
            headers = fault(str(status))
            response = await client.post(COMPLETIONS, json={"prompt": "x"}, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["type"] == "server_error"


async def test_dropped_stream_fails_mid_stream(engine: Engine) -> None:
    faults = Faults(drop_after_chunks=3)
    config = SimConfig(ttft_base=0.0, itl=0.01, output_tokens=10, faults=faults)
    seen: list[bytes] = []
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                body, headers = chat_body(stream=True), fault("drop")
                async with client.stream("POST", CHAT, json=body, headers=headers) as response:
                    assert response.status_code == 200
                    async for piece in response.aiter_raw():
                        seen.append(piece)
            # the server is fine afterwards
            assert (await client.post(CHAT, json=chat_body())).status_code == 200
    raw = b"".join(seen)
    assert raw.count(b'"content":"tok') == 3
    assert b'finish_reason":"stop' not in raw and b"[DONE]" not in raw


@pytest.mark.parametrize("path", [RESPONSES, COMPLETIONS])
async def test_dropped_streams_on_other_apis(path: str, engine: Engine) -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, output_tokens=4, faults=Faults(drop_after_chunks=0))
    body: dict[str, Any] = {"input": "x", "prompt": "x", "stream": True}
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                async with client.stream("POST", path, json=body, headers=fault("drop")) as r:
                    async for _ in r.aiter_raw():
                        pass


async def test_dropped_whole_response_is_cut_short(engine: Engine) -> None:
    config = SimConfig(ttft_base=0.05, itl=0.0)
    with trio.fail_after(10):
        async with (
            simulated_server(config, engine=engine) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(CHAT, json=chat_body(), headers=fault("drop"))


async def test_stall_lengthens_one_gap(clock: object, timing: Timing) -> None:
    faults = Faults(stall_duration=0.3, stall_after_chunks=2)
    config = SimConfig(ttft_base=0.05, itl=0.02, output_tokens=5, faults=faults)
    with trio.fail_after(10):
        async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
            await client.get(url.removesuffix("/v1") + "/health")
            client.headers.update(fault("stall"))
            timed = await timed_stream(client, CHAT, chat_body(stream=True))
    times = content_times(timed)
    assert len(times) == 5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # a gap is a difference of two arrivals, each of which may be late on the real clock
    for i, gap in enumerate(gaps):
        expected = 0.3 + 0.02 if i == 1 else 0.02
        assert abs(gap - expected) <= timing.late(CALM), (i, gaps)
    total = 0.05 + 4 * 0.02 + 0.3
    assert total - EXACT <= timed.total <= total + timing.late(CALM)


async def statuses(config: SimConfig, n: int, headers: dict[str, str] | None = None) -> list[int]:
    out = []
    async with simulated_server(config) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(n):
            response = await client.post(CHAT, json=chat_body(), headers=headers)
            out.append(response.status_code)
    return out


async def test_random_faults_follow_the_seed() -> None:
    faults = Faults(throttle_rate=0.3, server_error_rate=0.2, server_error_codes=(502,))
    config = SimConfig(ttft_base=0.0, itl=0.0, faults=faults, seed=11)
    with trio.fail_after(20):
        first = await statuses(config, 60)
        again = await statuses(config, 60)
        other_seed = await statuses(SimConfig(ttft_base=0.0, itl=0.0, faults=faults, seed=12), 60)
    assert first == again
    assert first != other_seed
    assert set(first) == {200, 429, 502}
    assert 8 <= first.count(429) <= 30 and 4 <= first.count(502) <= 22


async def test_header_overrides_the_rates() -> None:
    config = SimConfig(ttft_base=0.0, itl=0.0, faults=Faults(throttle_rate=1.0))
    with trio.fail_after(10):
        assert await statuses(config, 3) == [429] * 3
        assert await statuses(config, 3, headers=fault("none")) == [200] * 3
