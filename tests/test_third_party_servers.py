"""Our OpenAI endpoints against OpenAI-compatible servers this project did not write.

Two simulators from PyPI (both in the ``test`` extra), each started by a fixture as a
separate process on a free port of 127.0.0.1, waited for until ``/health`` answers, and
always terminated:

- ``xpyd-sim`` (xPyD's inference simulator): ``/v1/chat/completions`` and
  ``/v1/completions`` with a configurable prefill delay and per-token decode delay. With
  ``ignore_eos`` it streams exactly ``max_tokens`` tokens, one token per chunk, after
  sleeping the decode delay before each. So, from the moment it has the request:
  first token at prefill + decode, each next token one decode delay later, last token
  at prefill + max_tokens * decode.
- ``llmock`` (chaos engineering for LLM clients): ``/v1/chat/completions`` and
  ``/v1/responses``. It waits ``--latency-ms`` before answering and
  ``--stream-chunk-delay-ms`` before every streamed event after the first, and injects
  HTTP errors and broken streams (disconnect, malformed chunk, stall, truncation) queued
  through its ``/_llmock/scenario`` API.

Every test here is ``realtime``: the servers are subprocesses on the real clock.

Tolerances: these servers run in another process and pace their streams with relative
``asyncio.sleep`` calls, each of which overshoots by ~0.5-1.5 ms (uvloop's timers have
1 ms resolution), and their timers may fire up to a millisecond early. So a measured time
may be up to `EARLY` = 2 ms below its truth, and its p50 up to `LATE` = 30 ms above it
(HTTP handling in two Python processes on an idle machine), plus `PER_SLEEP` = 2 ms for
each sleep before the event. Inter-token gaps must be within 2 ms below and 5 ms above the
configured delay. A time measured from the wrong instant (a missing prefill, delay or
event) breaks the lower bound; a token's gap wrong by a fifth of a token breaks the gaps.

On a busy machine both processes wait for CPUs. This test's process watches its own event
loop (the `loop_lag` fixture, tests/_support/lag.py) and widens the upper bounds by what
it saw, counted twice (`held_up`): once for itself and once for the server, a process on
the same cores that it cannot watch. The lower bounds need no widening: load only ever
makes things later.
"""

from __future__ import annotations

import importlib.util
import itertools
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import (
    ErrorClass,
    InvocationResponse,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    TokenCountSource,
)

from ._support.children import die_with_parent
from ._support.lag import LoopLag

pytestmark = pytest.mark.realtime

EARLY = 0.002
LATE = 0.030
PER_SLEEP = 0.002
GAP_BELOW, GAP_ABOVE = 0.002, 0.005
TIME_LIMIT = 20  # seconds of trio time any one test may take
STARTUP_TIMEOUT = 30.0  # seconds a server may take to answer /health

Endpoint = (
    type[OpenAIChatEndpoint] | type[OpenAICompletionsEndpoint] | type[OpenAIResponsesEndpoint]
)


# -- starting a server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(
    process: subprocess.Popen[bytes], origin: str, log: Path, ours: Callable[[Any], bool]
) -> bool:
    """True once ``/health`` answers 200 with a body `ours` recognizes; False if the process
    exited (e.g. the port was taken)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                answer = client.get(origin + "/health")
                if answer.status_code == 200:
                    if not ours(answer.json()):  # someone else took the port
                        _stop(process)
                        return False
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    _stop(process)
    raise TimeoutError(f"{origin} not ready after {STARTUP_TIMEOUT} s:\n{log.read_text()[-2000:]}")


def _serve(
    module: str,
    entry: str,
    argv: Callable[[int], list[str]],
    ours: Callable[[Any], bool],
    log_dir: Path,
) -> Iterator[str]:
    """Run ``module``'s command line (`argv` for a port) until the fixture ends; yield its
    origin. A port taken between choosing and binding it makes the server exit: retry."""
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed: pip install -e '.[test]'")
    log = log_dir / f"{module}.log"
    for _ in range(3):
        port = _free_port()
        origin = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", f"from {module}.cli import {entry}; {entry}()", *argv(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        try:
            if _wait_ready(process, origin, log, ours):
                yield origin
                return
        finally:
            _stop(process)
    pytest.fail(f"{module} did not start:\n{log.read_text()[-2000:]}")


PREFILL_MS, DECODE_MS = 100, 25
MAX_TOKENS = 8


@pytest.fixture(scope="module")
def xpyd_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """xpyd-sim with a 100 ms prefill, no KV transfer delay and 25 ms per decoded token."""
    yield from _serve(
        "xpyd_sim",
        "main",
        lambda port: (
            f"serve --host 127.0.0.1 --port {port} --model m --prefill-delay-ms {PREFILL_MS}"
            f" --kv-transfer-delay-ms 0 --decode-delay-per-token-ms {DECODE_MS}"
        ).split(),
        lambda health: health.get("model") == "m" and "mode" in health,
        tmp_path_factory.mktemp("xpyd-sim"),
    )


LATENCY_MS, CHUNK_DELAY_MS = 100, 20


@pytest.fixture(scope="module")
def llmock_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llmock answering after 100 ms, 20 ms between streamed events, a fixed text answer."""
    yield from _serve(
        "llmock",
        "app",
        lambda port: (
            f"serve --host 127.0.0.1 --port {port} --log-level warning --latency-ms {LATENCY_MS}"
            f" --stream-chunk-delay-ms {CHUNK_DELAY_MS} --response-style static --tool-mode off"
        ).split(),
        lambda health: "version" in health,
        tmp_path_factory.mktemp("llmock"),
    )


@pytest.fixture
def llmock_url(llmock_process: str) -> Iterator[str]:
    """The llmock server with no queued faults (before and after the test). Not named
    ``llmock``: llmock's own pytest plugin has fixtures ``llmock`` and ``llmock_server``."""
    httpx.post(llmock_process + "/_llmock/reset", timeout=5).raise_for_status()
    yield llmock_process
    httpx.post(llmock_process + "/_llmock/reset", timeout=5).raise_for_status()


# -- helpers ------------------------------------------------------------------------------


async def run(
    cls: Endpoint, origin: str, payload: dict[str, Any], *, n_requests: int = 3, **kwargs: Any
) -> Result:
    endpoint = cls(base_url=origin + "/v1", model_id="m")
    return await Runner(endpoint).run(
        payload=[payload], clients=1, n_requests=n_requests, seed=1, **kwargs
    )


async def usage_of(cls: Endpoint, origin: str, payload: dict[str, Any]) -> dict[str, int]:
    """The usage the server reports for `payload`, asked with plain httpx, not streamed."""
    async with httpx.AsyncClient(base_url=origin + "/v1", timeout=10) as client:
        answer = await client.post(cls.api_path, json={**payload, "model": "m", "stream": False})
    answer.raise_for_status()
    usage: dict[str, int] = answer.json()["usage"]
    return {
        "input": usage.get("prompt_tokens", usage.get("input_tokens", -1)),
        "output": usage.get("completion_tokens", usage.get("output_tokens", -1)),
    }


def ok(result: Result, count: int) -> list[InvocationResponse]:
    stats = result.stats
    assert stats["failed_requests"] == 0, [r.error for r in result.responses]
    assert stats["total_requests"] == count
    return result.responses


def held_up(lag: LoopLag, *, stalls: bool = True) -> float:
    """What the machine's load may have added to a time: the worst lag and (with `stalls`,
    for a time the server paces with several sleeps) every stall this process saw, counted
    again for the server's process."""
    return 2 * (lag.worst + (lag.stalled if stalls else 0.0))


def check_time(name: str, result: Result, expected: float, sleeps: int, lag: LoopLag) -> None:
    """Every request's `name` is at least `expected` (less `EARLY`), its p50 at most `LATE`
    + `PER_SLEEP` per server sleep above it, plus what the machine's load added."""
    values = [getattr(record, name) for record in result.responses]
    assert all(v is not None and v >= expected - EARLY for v in values), (name, values, expected)
    p50 = result.stats[f"{name}-p50"]
    allowed = LATE + PER_SLEEP * sleeps + held_up(lag)
    assert p50 - expected < allowed, f"{name} p50 {p50:.4f}, truth {expected}, allowed {allowed}"


def check_gap(measured: float, expected: float, lag: LoopLag) -> None:
    """A median or mean gap between two arrivals: either may have been held up."""
    widen = held_up(lag, stalls=False)
    assert expected - GAP_BELOW - widen <= measured <= expected + GAP_ABOVE + widen, (
        measured,
        expected,
        lag,
    )


# -- xpyd-sim: prefill and decode delays ------------------------------------------------------


@pytest.mark.parametrize("cls", [OpenAIChatEndpoint, OpenAICompletionsEndpoint])
async def test_xpyd_sim_latencies_and_counts(
    xpyd_sim: str, cls: Endpoint, loop_lag: LoopLag
) -> None:
    """Streams without error; TTFT = prefill + one decode, time to last token = prefill +
    8 decodes, ITL and time per output token = the decode delay; token counts are the
    server's usage, exactly."""
    payload = cls.create_payload("tell me a story about a cat", MAX_TOKENS, ignore_eos=True)
    with trio.fail_after(TIME_LIMIT):
        result = await run(cls, xpyd_sim, payload)
        usage = await usage_of(cls, xpyd_sim, payload)
    records = ok(result, 3)
    prefill, decode = PREFILL_MS / 1000, DECODE_MS / 1000
    check_time("time_to_first_token", result, prefill + decode, 2, loop_lag)
    check_time(
        "time_to_last_token", result, prefill + MAX_TOKENS * decode, 1 + MAX_TOKENS, loop_lag
    )
    stats = result.stats
    check_gap(stats["inter_token_latency-p50"], decode, loop_lag)
    check_gap(stats["inter_token_latency-average"], decode, loop_lag)
    check_gap(stats["time_per_output_token-p50"], decode, loop_lag)

    assert usage["output"] == MAX_TOKENS
    for record in records:
        assert record.num_tokens_output == MAX_TOKENS
        assert record.num_tokens_input == usage["input"]
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert len(record.chunks) == MAX_TOKENS  # one token a chunk
        assert record.response_text is not None
        assert len(record.response_text.split()) == MAX_TOKENS


# -- llmock: pacing, token counts, faults ------------------------------------------------------

# Events llmock sends before the first text delta, each but the first after a chunk delay:
# chat: the role chunk; Responses: created, in_progress, output_item.added, content_part.added
EVENTS_BEFORE_TEXT = {OpenAIChatEndpoint: 1, OpenAIResponsesEndpoint: 4}
# ... and after the last delta: chat: finish chunk, usage chunk, [DONE]; Responses:
# output_text.done, content_part.done, output_item.done, completed
EVENTS_AFTER_TEXT = {OpenAIChatEndpoint: 3, OpenAIResponsesEndpoint: 4}
LLMOCK_ENDPOINTS = [OpenAIChatEndpoint, OpenAIResponsesEndpoint]


@pytest.mark.parametrize("cls", LLMOCK_ENDPOINTS)
async def test_llmock_pacing_and_counts(llmock_url: str, cls: Endpoint, loop_lag: LoopLag) -> None:
    """Streams without error; the first text arrives after the latency and the events
    before it, each text chunk one chunk delay after the previous one, the end after the
    closing events; token counts are llmock's usage (its estimate: 4 characters a token)."""
    payload = cls.create_payload("hello there my friend", None)
    with trio.fail_after(TIME_LIMIT):
        result = await run(cls, llmock_url, payload)
        usage = await usage_of(cls, llmock_url, payload)
    records = ok(result, 3)
    latency, delay = LATENCY_MS / 1000, CHUNK_DELAY_MS / 1000
    before, after = EVENTS_BEFORE_TEXT[cls], EVENTS_AFTER_TEXT[cls]
    check_time("time_to_first_token", result, latency + before * delay, 1 + before, loop_lag)
    pieces = len(records[0].chunks)
    assert pieces == 4  # "Mock response from m." streamed word by word
    events = before + pieces + after
    check_time("time_to_last_token", result, latency + (events - 1) * delay, events, loop_lag)

    gaps = [b.time - a.time for r in records for a, b in itertools.pairwise(r.chunks)]
    check_gap(statistics.median(gaps), delay, loop_lag)
    for record in records:
        assert record.response_text == "Mock response from m."
        assert record.num_tokens_output == usage["output"] == len(record.response_text) // 4
        assert record.num_tokens_input == usage["input"]
        assert record.num_tokens_output_source is TokenCountSource.SERVER


def _faults(cls: Endpoint) -> list[dict[str, Any]]:
    """One of each fault, in order; stream faults hit just after the first text delta."""
    after = EVENTS_BEFORE_TEXT[cls] + 1
    return [
        {"type": "fail", "status": 429, "retry_after": 1},
        {"type": "fail", "status": 500},
        {"type": "fail", "status": 503},
        {"type": "stream_fault", "kind": "disconnect", "after_chunks": after},
        {"type": "stream_fault", "kind": "malformed", "after_chunks": after},
        {"type": "stream_fault", "kind": "stall", "after_chunks": after, "stall_seconds": 5},
    ]


async def queue(origin: str, behaviors: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(origin + "/_llmock/scenario", json={"behaviors": behaviors})
    answer.raise_for_status()


@pytest.mark.parametrize("cls", LLMOCK_ENDPOINTS)
async def test_llmock_faults_are_classified(llmock_url: str, cls: Endpoint) -> None:
    """A 429, a 500, a 503, a dropped connection, a corrupted chunk and a 5 s stall (cut at
    the run's 1 s timeout), then a clean answer: each lands in its `errors_by_class` bucket."""
    await queue(llmock_url, _faults(cls))
    with trio.fail_after(TIME_LIMIT):
        result = await run(
            cls, llmock_url, cls.create_payload("hello", None), n_requests=7, timeout=1.0
        )
    stats = result.stats
    assert stats["errors_by_class"] == {
        "throttled": 1, "server": 2, "connection": 1, "protocol": 1, "timeout": 1,
    }  # fmt: skip
    assert stats["failed_requests"] == 6
    records = result.responses  # one client: in the order sent
    assert [r.error_class for r in records] == [
        ErrorClass.THROTTLED, ErrorClass.SERVER, ErrorClass.SERVER, ErrorClass.CONNECTION,
        ErrorClass.PROTOCOL, ErrorClass.TIMEOUT, None,
    ]  # fmt: skip
    assert [r.status_code for r in records[:3]] == [429, 500, 503]
    assert records[-1].response_text == "Mock response from m."


@pytest.mark.parametrize("cls", LLMOCK_ENDPOINTS)
async def test_llmock_truncated_stream_is_a_failure(llmock_url: str, cls: Endpoint) -> None:
    """llmock's ``truncate``: the stream stops after the first text delta with a clean end
    of the HTTP body. The answer is incomplete, so the request failed."""
    after = EVENTS_BEFORE_TEXT[cls] + 1
    await queue(llmock_url, [{"type": "stream_fault", "kind": "truncate", "after_chunks": after}])
    with trio.fail_after(TIME_LIMIT):
        result = await run(cls, llmock_url, cls.create_payload("hello", None), n_requests=1)
    record = result.responses[0]
    assert record.response_text == "Mock "  # the truncation happened where it was asked
    assert result.stats["failed_requests"] == 1, "an incomplete answer counted as a success"
    assert record.error_class in (ErrorClass.PROTOCOL, ErrorClass.CONNECTION)
