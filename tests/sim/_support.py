"""Helpers for the simulated server tests: SSE parsing and timed streams."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import orjson
import trio

CHAT = "/chat/completions"
COMPLETIONS = "/completions"
RESPONSES = "/responses"


def chat_body(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def split_events(raw: bytes) -> list[bytes]:
    """The SSE events of a body, checking that each one ends with a blank line."""
    assert raw.endswith(b"\n\n"), raw[-80:]
    events = raw.split(b"\n\n")
    assert events[-1] == b""
    return events[:-1]


def data_events(raw: bytes) -> list[Any]:
    """The ``data:`` payloads of a chat/completions stream, ``[DONE]`` as a str."""
    out: list[Any] = []
    for event in split_events(raw):
        assert event.startswith(b"data: ") and b"\n" not in event, event
        payload = event[len(b"data: ") :]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


def typed_events(raw: bytes) -> list[dict[str, Any]]:
    """The events of a Responses API stream, checking ``event:`` matches the type."""
    out = []
    for event in split_events(raw):
        name_line, data_line = event.split(b"\n")
        assert name_line.startswith(b"event: ") and data_line.startswith(b"data: "), event
        data = orjson.loads(data_line[len(b"data: ") :])
        assert data["type"] == name_line[len(b"event: ") :].decode()
        out.append(data)
    return out


@attrs.define
class Timed:
    """A streamed response as the client saw it, times in seconds from the send."""

    status: int
    headers: httpx.Headers
    raw: bytes
    arrivals: list[tuple[float, bytes]]  # (time, bytes) per read
    total: float

    @property
    def first(self) -> float:
        return self.arrivals[0][0]


async def timed_stream(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Timed:
    """Send one request and time each piece of its body as it arrives."""
    start = trio.current_time()
    arrivals = []
    async with client.stream("POST", path, json=body) as response:
        async for piece in response.aiter_raw():
            arrivals.append((trio.current_time() - start, piece))
    total = trio.current_time() - start
    raw = b"".join(piece for _, piece in arrivals)
    return Timed(response.status_code, response.headers, raw, arrivals, total)


def content_times(timed: Timed, marker: bytes = b'"content":"tok') -> list[float]:
    """Arrival times of the reads that carried content tokens."""
    return [t for t, piece in timed.arrivals if marker in piece]
