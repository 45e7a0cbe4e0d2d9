"""Helpers for the wire-format tests: event-stream messages, SSE events, AWS clients
(`llmeter_trio.sim.call_app` drives SimApp in virtual time)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import trio
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from llmeter_trio.sim import AppExchange, SimConfig, simulated_server

T = TypeVar("T")


def messages(exchange: AppExchange) -> list[tuple[float, EventStreamMessage]]:
    """The event-stream messages of an answer (checksums checked by botocore), each
    with the time its bytes were sent."""
    buffer = EventStreamBuffer()
    out = []
    for at, part in exchange.parts:
        buffer.add_data(part)
        out += [(at, message) for message in buffer]
    assert buffer._data == b"", "a message was cut short"
    return out


def sse_events(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event name, JSON data) of each SSE event in `raw` (``data:`` with or without a space)."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name, data = None, None
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data = json.loads(value)
        out.append((name, data))
    return out


def aws_client(service: str, origin: str) -> Any:
    """A boto3 client for `service` at the simulated server, dummy credentials given as
    arguments, no retries (so a throttled call fails at once)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=origin,
        region_name="us-east-1",
        aws_access_key_id="AKIDSIMULATED",
        aws_secret_access_key="not-a-real-secret",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20),
    )


async def in_thread(function: Callable[[], T]) -> T:
    """Run a blocking SDK call while the server keeps serving."""
    return await trio.to_thread.run_sync(function)


async def with_client(service: str, function: Callable[[Any], T], config: SimConfig) -> T:
    """Run `function(client)` in a thread, `client` a boto3 client for `service` at a fresh
    simulated server."""
    with trio.fail_after(30):
        async with simulated_server(config) as url:
            client = aws_client(service, url.removesuffix("/v1"))
            return await in_thread(lambda: function(client))


def with_fault(client: Any, fault: str) -> Any:
    """`client`, sending ``x-sim-fault: fault`` with every request."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-sim-fault"] = fault

    client.meta.events.register("before-send", add_header)
    return client
