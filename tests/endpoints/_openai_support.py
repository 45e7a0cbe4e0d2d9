"""Helpers for the OpenAI adapter tests: SSE bytes, timed mock streams, mock transports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import orjson
import trio

SSE_HEADERS = {"content-type": "text/event-stream"}


def sse(*items: dict[str, Any] | str | bytes, event: str | None = None) -> bytes:
    """The SSE bytes of events: dicts become JSON data, str is data as is, bytes are raw."""
    out = bytearray()
    for item in items:
        if isinstance(item, bytes):
            out += item
            continue
        data = orjson.dumps(item) if isinstance(item, dict) else item.encode()
        if event is not None:
            out += b"event: " + event.encode() + b"\n"
        out += b"data: " + data + b"\n\n"
    return bytes(out)


def responses_event(obj: dict[str, Any]) -> bytes:
    """A Responses API event, named like its type, as the API sends it."""
    return sse(obj, event=obj["type"])


def chat_chunk(
    content: str | None = None,
    *,
    reasoning: str | None = None,
    reasoning_key: str = "reasoning_content",
    role: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    choices: bool = True,
    **choice_extra: Any,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice whose delta holds what is given."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta[reasoning_key] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    chunk: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None, **choice_extra}]
        if choices
        else [],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def usage_chunk(
    prompt: int, completion: int, reasoning: int | None = None, cached: int | None = None
) -> dict[str, Any]:
    """The final usage-only chunk of a Chat/Completions stream."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}


class TimedStream(httpx.AsyncByteStream):
    """A response body that yields each part after sleeping its delay (on trio's clock).

    A part may be an exception instance, raised at that point (a dropped
    connection). `consumed` tells whether the body was read to its end,
    `closed` whether it was closed.
    """

    def __init__(self, parts: Iterable[tuple[float, bytes | BaseException]]) -> None:
        self.parts = list(parts)
        self.consumed = False
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for delay, part in self.parts:
            if delay:
                await trio.sleep(delay)
            if isinstance(part, BaseException):
                raise part
            yield part
        self.consumed = True

    async def aclose(self) -> None:
        self.closed = True


class Server:
    """A `httpx.MockTransport` answering every request from `respond`, keeping what it saw."""

    def __init__(
        self,
        respond: Callable[[httpx.Request], httpx.Response] | None = None,
        *,
        parts: Iterable[tuple[float, bytes | BaseException]] = (),
        status: int = 200,
        headers: dict[str, str] | None = None,
        headers_delay: float = 0.0,
    ) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self.streams: list[TimedStream] = []
        self._respond = respond
        self._parts = list(parts)
        self._status = status
        self._headers = SSE_HEADERS if headers is None else headers
        self._headers_delay = headers_delay
        self.transport = httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(orjson.loads(await request.aread()))
        if self._headers_delay:
            await trio.sleep(self._headers_delay)
        if self._respond is not None:
            return self._respond(request)
        stream = TimedStream(self._parts)
        self.streams.append(stream)
        return httpx.Response(self._status, headers=self._headers, stream=stream)


def body_parts(*chunks: bytes, delay: float = 0.0) -> list[tuple[float, bytes | BaseException]]:
    """Parts arriving `delay` apart."""
    return [(delay, chunk) for chunk in chunks]


async def invoke_with(
    endpoint_class: type[Any],
    server: Server,
    payload: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Prepare `payload` (a default user message when None) and invoke it once through `server`."""
    options.setdefault("model_id", "test-model")
    endpoint = endpoint_class(transport=server.transport, **options)
    if payload is None:
        payload = endpoint_class.create_payload("Say hello")
    return await endpoint.invoke(endpoint.prepare_payload(payload))
