"""The simulated server's AWS answers, obtained in-process in virtual time, and replayed.

`exchange` calls `SimApp` directly (no sockets) on a MockClock, so each part of
the answer comes with the virtual instant it was sent. `replay` feeds those
parts to a stream state at the same instants, the way an endpoint reads them
from httpx, and returns the record.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote

import attrs
import trio
import trio.testing
from llmeter_trio_aws import EventStreamState

from llmeter_trio.endpoints import InvocationResponse, StreamRecorder
from llmeter_trio.sim import Plan, SimApp, SimConfig, plan

S = TypeVar("S", bound=EventStreamState)

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"


def signed(service: str) -> dict[str, str]:
    """Headers that pass the simulated server's SigV4 check for `service` (it never
    verifies the signature itself; test_aws_signing.py signs for real)."""
    return {
        "authorization": f"AWS4-HMAC-SHA256 Credential=AKIDSIM/20250101/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff",
        "x-amz-date": "20250101T000000Z",
    }


@attrs.define
class Exchange:
    """One answer as the client would see it: status, headers, timed body parts."""

    status: int
    headers: dict[str, str]
    parts: list[tuple[float, bytes]]  # (seconds after the request, bytes)

    @property
    def body(self) -> bytes:
        return b"".join(part for _, part in self.parts)


async def call(
    app: SimApp, path: str, body: Any, headers: dict[str, str] | None = None
) -> Exchange:
    """POST `body` (JSON) to `app` at `path`, in-process, timing each part of the answer."""
    raw = json.dumps(body).encode()
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    start = trio.current_time()
    status, head, parts = 0, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, head
        if message["type"] == "http.response.start":
            status = message["status"]
            head = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message.get("body"):
            parts.append((trio.current_time() - start, message["body"]))

    scope = {
        "type": "http",
        "method": "POST",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    await app(scope, receive, send)
    return Exchange(status, head, parts)


async def fetch(
    config: SimConfig,
    path: str,
    body: Any,
    service: str,
    fault: str | None = None,
    headers: dict[str, str] | None = None,
) -> Exchange:
    """`call` a fresh `SimApp` with `headers` (by default signed for `service`), and an
    ``x-sim-fault`` if given."""
    headers = signed(service) if headers is None else dict(headers)
    if fault is not None:
        headers["x-sim-fault"] = fault
    return await call(SimApp(config), path, body, headers)


def exchange(
    config: SimConfig,
    path: str,
    body: Any,
    service: str,
    fault: str | None = None,
    headers: dict[str, str] | None = None,
) -> Exchange:
    """`fetch`, from synchronous code: one trio run on an autojumping MockClock."""

    async def main() -> Exchange:
        return await fetch(config, path, body, service, fault, headers)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def expected_plan(config: SimConfig, input_tokens: int, **options: Any) -> Plan:
    """The plan the simulated server follows for a first request (its seed, no jitter)."""
    return plan(config, random.Random(config.seed), input_tokens=input_tokens, **options)


async def replay(
    exchange: Exchange, make_state: Callable[[StreamRecorder], S]
) -> tuple[S, InvocationResponse]:
    """Feed the answer's parts at their instants (call under an autojumping clock)."""
    recorder = StreamRecorder()
    state = make_state(recorder)
    for at, part in exchange.parts:
        await trio.sleep_until(recorder.send_time + at)
        state.feed(part)
    state.close()
    return state, recorder.finish(state.response())


def feed_pieces(
    pieces: Sequence[bytes], make_state: Callable[[StreamRecorder], S]
) -> tuple[S, InvocationResponse]:
    """Feed `pieces` in one go (no time passing) and return the state and its record."""

    async def main() -> tuple[S, InvocationResponse]:
        recorder = StreamRecorder()
        state = make_state(recorder)
        for piece in pieces:
            state.feed(piece)
        state.close()
        return state, recorder.finish(state.response())

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def cut(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given offsets."""
    edges = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


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
