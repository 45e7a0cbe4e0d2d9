"""Anthropic's Messages API (``POST /v1/messages``): requests, events, errors.

A streamed answer is the SSE event sequence ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta``...,
``content_block_stop``, ``message_delta`` (stop reason, output tokens),
``message_stop``. Reasoning tokens stream as a ``thinking`` block before the
``text`` block, when the request enables ``thinking``. `AnthropicEvents` makes
the events as (name, JSON) pairs, so Bedrock can carry the same events in its
``chunk`` messages.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

from ._dialect import SSE_HEADERS, Headers, Reply, header
from ._formats import CONTENT_WORD, REASONING_WORD, Renderer
from ._model import Plan, PlannedChunk, SimConfig
from ._requests import Api, ApiError, Prompt, SimRequest, positive_int, read_object

__all__ = ["AnthropicDialect", "AnthropicEvents", "Event", "read_messages", "sse", "stop_reason"]

Event = tuple[bytes, bytes]  # (event name, JSON object)
SIGNATURE = "c2ltdWxhdGVkIHRoaW5raW5n"  # a thinking block's signature (opaque to clients)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_object(error: ApiError) -> bytes:
    """The ``{"type": "error", "error": {...}}`` object of `error`."""
    kind = error.type if error.type in _ERROR_TYPES.values() else error_type(error.status)
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": error.message}})


def sse(name: bytes, data: bytes) -> bytes:
    """One named SSE event."""
    return b"event: " + name + b"\ndata: " + data + b"\n\n"


def read_messages(body: dict[str, Any]) -> tuple[Prompt, int, bool]:
    """The prompt (system first), ``max_tokens`` and whether ``thinking`` is on, from a
    Messages API body (Anthropic's own, or Anthropic-on-Bedrock's)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages: at least one message is required", param="messages")
    prompt = Prompt()
    prompt.add(body.get("system"))
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError(400, "messages: each message must be an object", param="messages")
        prompt.add(message.get("content"))
    max_tokens = positive_int(body, "max_tokens", required=True)
    assert max_tokens is not None
    thinking = body.get("thinking")
    reasoning = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    return prompt, max_tokens, reasoning


def stop_reason(plan: Plan) -> str:
    """Why the answer stopped, in Anthropic's words (Bedrock's Converse uses them too)."""
    return "max_tokens" if plan.length_limited else "end_turn"


class AnthropicEvents:
    """The events of one Messages API answer. `stop_extra` is merged into the
    ``message_stop`` event (Bedrock's invocation metrics); `ping` sends Anthropic's
    ``ping`` after the first block starts."""

    __slots__ = ("_cache", "_ident", "_model", "_open", "_ping", "_plan", "_stop_extra")

    def __init__(
        self,
        plan: Plan,
        ident: str,
        model: str,
        *,
        ping: bool = True,
        stop_extra: dict[str, Any] | None = None,
    ) -> None:
        self._plan = plan
        self._ident = ident
        self._model = model
        self._ping = ping
        self._stop_extra = stop_extra or {}
        self._open = plan.reasoning_tokens > 0  # the open block: thinking (True) or text
        self._cache: dict[tuple[int, bool], Event] = {}

    def _index(self, reasoning: bool) -> int:
        return 0 if reasoning or not self._plan.reasoning_tokens else 1

    def _start_block(self, reasoning: bool) -> Event:
        block = (
            {"type": "thinking", "thinking": "", "signature": ""}
            if reasoning
            else {"type": "text", "text": ""}
        )
        data = {"type": "content_block_start", "index": self._index(reasoning)}
        return b"content_block_start", orjson.dumps({**data, "content_block": block})

    def _stop_block(self) -> list[Event]:
        index = self._index(self._open)
        events: list[Event] = []
        if self._open:
            delta = {"type": "signature_delta", "signature": SIGNATURE}
            data = {"type": "content_block_delta", "index": index, "delta": delta}
            events.append((b"content_block_delta", orjson.dumps(data)))
        data = {"type": "content_block_stop", "index": index}
        events.append((b"content_block_stop", orjson.dumps(data)))
        return events

    def _delta(self, chunk: PlannedChunk) -> Event:
        key = (chunk.tokens, chunk.reasoning)
        event = self._cache.get(key)
        if event is None:
            if chunk.reasoning:
                delta = {"type": "thinking_delta", "thinking": REASONING_WORD * chunk.tokens}
            else:
                delta = {"type": "text_delta", "text": CONTENT_WORD * chunk.tokens}
            data = {"type": "content_block_delta", "index": self._index(chunk.reasoning)}
            event = self._cache[key] = (
                b"content_block_delta",
                orjson.dumps({**data, "delta": delta}),
            )
        return event

    def _usage(self, done: bool) -> dict[str, Any]:
        """Anthropic's usage: ``input_tokens`` are the uncached ones, and
        ``cache_read_input_tokens`` the cached ones (0 without a prefix cache: the API
        always reports both); no cache writes, the simulated cache needing no
        ``cache_control`` markers."""
        plan = self._plan
        return {
            "input_tokens": plan.uncached_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": plan.cached_tokens or 0,
            "output_tokens": plan.output_tokens if done else 1,
        }

    def _message(self, content: list[dict[str, Any]], done: bool) -> dict[str, Any]:
        plan = self._plan
        return {
            "id": self._ident,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": content,
            "stop_reason": stop_reason(plan) if done else None,
            "stop_sequence": None,
            "usage": self._usage(done),
        }

    def head(self) -> list[Event]:
        start = {"type": "message_start", "message": self._message([], False)}
        events = [(b"message_start", orjson.dumps(start)), self._start_block(self._open)]
        if self._ping:
            events.append((b"ping", b'{"type":"ping"}'))
        return events

    def chunk(self, chunk: PlannedChunk) -> list[Event]:
        if chunk.reasoning == self._open:
            return [self._delta(chunk)]
        events = self._stop_block()
        self._open = chunk.reasoning
        events += [self._start_block(chunk.reasoning), self._delta(chunk)]
        return events

    def tail(self) -> list[Event]:
        events = self._stop_block()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self._plan), "stop_sequence": None},
            "usage": {"output_tokens": self._plan.output_tokens},
        }
        events.append((b"message_delta", orjson.dumps(delta)))
        stop = {"type": "message_stop", **self._stop_extra}
        events.append((b"message_stop", orjson.dumps(stop)))
        return events

    def message(self) -> bytes:
        """The whole answer (``stream: false``)."""
        plan = self._plan
        content: list[dict[str, Any]] = []
        if plan.reasoning_tokens:
            thinking = REASONING_WORD * plan.reasoning_tokens
            content.append({"type": "thinking", "thinking": thinking, "signature": SIGNATURE})
        if plan.content_tokens:
            content.append({"type": "text", "text": CONTENT_WORD * plan.content_tokens})
        return orjson.dumps(self._message(content, True))


class _SseRenderer:
    """Anthropic's events as SSE."""

    __slots__ = ("_events",)

    def __init__(self, events: AnthropicEvents) -> None:
        self._events = events

    def head(self) -> bytes:
        return b"".join([sse(*event) for event in self._events.head()])

    def chunk(self, chunk: PlannedChunk) -> bytes:
        return b"".join([sse(*event) for event in self._events.chunk(chunk)])

    def tail(self) -> bytes:
        return b"".join([sse(*event) for event in self._events.tail()])

    def body(self) -> bytes:
        return self._events.message()

    def stream_error(self, error: ApiError) -> bytes:
        return sse(b"error", error_object(error))


@attrs.frozen
class AnthropicDialect:
    """``POST /v1/messages``: needs ``anthropic-version`` and a key (``x-api-key``
    or ``Authorization: Bearer``), as Anthropic's API does; never checks the key."""

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        if header(headers, b"anthropic-version") is None:
            raise ApiError(400, "anthropic-version: header is required")
        if header(headers, b"x-api-key") is None and header(headers, b"authorization") is None:
            raise ApiError(401, "x-api-key header is required", type="authentication_error")
        body = read_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "model: Field required", param="model")
        prompt, max_tokens, reasoning = read_messages(body)
        stream = body.get("stream") is True
        return SimRequest.capped(
            Api.ANTHROPIC,
            model,
            stream,
            prompt.words,
            max_tokens,
            reasoning=reasoning,
            prompt=tuple(prompt.texts),
        )

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        model = request.model or config.model
        return _SseRenderer(AnthropicEvents(plan, "msg_" + ident, model))

    def stream_headers(self, request: SimRequest) -> Headers:
        return SSE_HEADERS

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        return [(b"content-type", b"application/json")]

    def error(self, error: ApiError) -> Reply:
        return error.status, error.headers, error_object(error)
