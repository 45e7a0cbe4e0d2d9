"""The simulated server's AWS answers, obtained in-process in virtual time, and replayed.

`exchange` calls `SimApp` directly (`llmeter_trio.sim.call_app`, no sockets) on
a MockClock, so each part of the answer comes with the virtual instant it was
sent. `replay` feeds those parts to a stream state at the same instants, the
way an endpoint reads them from httpx, and returns the record.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import trio
import trio.testing
from llmeter_trio_aws import EventStreamState

from llmeter_trio.endpoints import InvocationResponse, StreamRecorder
from llmeter_trio.sim import AppExchange, Plan, SimApp, SimConfig, call_app, plan, signed_headers

S = TypeVar("S", bound=EventStreamState)
T = TypeVar("T")
P = ParamSpec("P")

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"


def in_virtual_time(function: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """`function`, called from synchronous code: one trio run on an autojumping MockClock."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(function, *args, **kwargs)
        return trio.run(call, clock=trio.testing.MockClock(autojump_threshold=0))

    return run


async def fetch(
    config: SimConfig,
    path: str,
    body: Any,
    service: str,
    fault: str | None = None,
    headers: dict[str, str] | None = None,
) -> AppExchange:
    """`call_app` a fresh `SimApp` with `headers` (by default signed for `service`), and an
    ``x-sim-fault`` if given."""
    headers = signed_headers(service) if headers is None else dict(headers)
    if fault is not None:
        headers["x-sim-fault"] = fault
    return await call_app(SimApp(config), path, body, headers)


exchange = in_virtual_time(fetch)


def expected_plan(config: SimConfig, input_tokens: int, **options: Any) -> Plan:
    """The plan the simulated server follows for a first request (its seed, no jitter)."""
    return plan(config, random.Random(config.seed), input_tokens=input_tokens, **options)


async def replay(
    exchange: AppExchange, make_state: Callable[[StreamRecorder], S]
) -> tuple[S, InvocationResponse]:
    """Feed the answer's parts at their instants (call under an autojumping clock)."""
    recorder = StreamRecorder()
    state = make_state(recorder)
    for at, part in exchange.parts:
        await trio.sleep_until(recorder.send_time + at)
        state.feed(part)
    state.close()
    return state, recorder.finish(state.response())


@in_virtual_time
async def feed_pieces(
    pieces: Sequence[bytes], make_state: Callable[[StreamRecorder], S]
) -> tuple[S, InvocationResponse]:
    """Feed `pieces` in one go (no time passing) and return the state and its record."""
    recorder = StreamRecorder()
    state = make_state(recorder)
    for piece in pieces:
        state.feed(piece)
    state.close()
    return state, recorder.finish(state.response())


def cut(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given offsets."""
    edges = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def read_the_same_when_cut(
    body: bytes, make_state: Callable[[StreamRecorder], S], cuts: Sequence[int] | None = None
) -> None:
    """Check that `body`, fed in the pieces `cuts` makes (offsets taken modulo its length),
    reads as it does whole; without `cuts`, cut once at every offset in turn."""
    _, whole = feed_pieces([body], make_state)
    if cuts is not None:
        _, pieces = feed_pieces(cut(body, [c % len(body) for c in cuts]), make_state)
        assert summary(pieces) == summary(whole), cuts
        return
    for at in range(1, len(body)):
        _, pieces = feed_pieces([body[:at], body[at:]], make_state)
        assert summary(pieces) == summary(whole), at


def summary(response: InvocationResponse) -> tuple[Any, ...]:
    """What a record says, timing aside: for comparing reads of the same bytes."""
    chunks = [(c.kind, c.chars, c.tokens) for c in response.chunks]
    return (
        response.response_text,
        response.num_tokens_input,
        response.num_tokens_output,
        response.error_class,
        response.error,
        chunks,
    )
