"""What the three OpenAI APIs share when reading an answer: usage, errors, stream state.

Each API module subclasses `StreamState` with an `on_event` that reads one
server-sent event, and writes a `parse_body` for non-streaming answers. The
work per streamed event is one ``orjson.loads`` of the event's bytes, a few
dict lookups and, when the event carried output, one `StreamRecorder.chunk`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import classify_status
from .._http import MAX_ERROR_BODY
from .._response import ErrorClass, InvocationResponse, TokenCountSource
from .._sse import ServerSentEvent
from .._timing import StreamRecorder

__all__ = [
    "StreamState",
    "apply_usage",
    "classify_error_object",
    "describe_error_object",
    "text_of_content",
]


_THROTTLING_WORDS = ("rate_limit", "rate limit", "ratelimit", "throttl", "quota", "too_many")
_CLIENT_WORDS = (
    "invalid", "not_found", "not found", "unsupported", "context_length", "bad_request",
    "permission", "unauthorized", "authentication", "forbidden", "content_filter",
    "content_policy",
)  # fmt: skip


def apply_usage(response: InvocationResponse, usage: Mapping[str, Any]) -> None:
    """Copy a usage report (Chat/Completions or Responses names) into `response`."""
    prompt = usage.get("prompt_tokens")
    if prompt is None:
        prompt = usage.get("input_tokens")
    completion = usage.get("completion_tokens")
    if completion is None:
        completion = usage.get("output_tokens")
    input_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    output_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    if isinstance(prompt, int):
        response.num_tokens_input = prompt
        response.num_tokens_input_source = TokenCountSource.SERVER
    if isinstance(completion, int):
        response.num_tokens_output = completion
        response.num_tokens_output_source = TokenCountSource.SERVER
    if isinstance(input_details, Mapping):
        cached = input_details.get("cached_tokens")
        if isinstance(cached, int):
            response.num_tokens_input_cached = cached
    if isinstance(output_details, Mapping):
        reasoning = output_details.get("reasoning_tokens")
        if isinstance(reasoning, int):
            response.num_tokens_output_reasoning = reasoning


def classify_error_object(error: Any) -> ErrorClass:
    """The class of an error the server reported in a body or an event.

    An HTTP-like numeric ``code`` or ``status`` decides when there is one;
    otherwise words in ``code`` and ``type`` do (``rate_limit_exceeded`` is
    throttling, ``invalid_request_error`` a client error), and anything else
    is taken as a server error: the server accepted the request, then failed.
    """
    if not isinstance(error, Mapping):
        return ErrorClass.SERVER
    for key in ("code", "status", "status_code"):
        value = error.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
            return classify_status(value)
    words = f"{error.get('code')} {error.get('type')}".lower()
    if any(word in words for word in _THROTTLING_WORDS):
        return ErrorClass.THROTTLED
    if any(word in words for word in _CLIENT_WORDS):
        return ErrorClass.CLIENT
    return ErrorClass.SERVER


def describe_error_object(error: Any) -> str:
    """A one-line message for an error object: ``"<type or code>: <message>"``."""
    if not isinstance(error, Mapping):
        return str(error)[:MAX_ERROR_BODY]
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = orjson.dumps(error, default=str).decode()
    label = error.get("type")
    if not label or label == "error":  # a Responses API error event: its code says more
        label = error.get("code")
    text = f"{label}: {message}" if label else message
    return text[:MAX_ERROR_BODY]


def text_of_content(content: Any, parts: list[str]) -> None:
    """Append the text of message content (a string, or a list of parts) to `parts`."""
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)


class StreamState:
    """What one streamed answer has shown so far; `on_event` reads the next event.

    After the first error, later events are read (so the connection is
    drained and reused) but otherwise ignored. The answer's text is kept up to
    `max_text_chars` characters (`add_text`); every event is still read and
    timed to the end of the stream.
    """

    __slots__ = (
        "dropped_chars",
        "error",
        "error_class",
        "finished",
        "last_completion_tokens",
        "recorder",
        "response_id",
        "stop_reason",
        "text",
        "text_room",
        "usage",
    )

    def __init__(self, recorder: StreamRecorder, max_text_chars: int | None = None) -> None:
        self.recorder = recorder
        self.text: list[str] = []
        self.text_room = sys.maxsize if max_text_chars is None else max_text_chars
        self.dropped_chars = 0
        self.response_id: str | None = None
        self.usage: Mapping[str, Any] | None = None
        self.error: str | None = None
        self.error_class: ErrorClass | None = None
        self.last_completion_tokens = 0
        self.finished = False  # the API's own end of the answer was seen
        self.stop_reason: str | None = None  # finish_reason, stop_reason, ...: the API's word

    # What marks the end of a complete answer, for the error when it is missing.
    end_marker = "a final event"

    def on_event(self, event: ServerSentEvent) -> None:
        """Read one event (subclasses: one per API)."""
        raise NotImplementedError

    def load(self, event: ServerSentEvent) -> dict[str, Any] | None:
        """The event's JSON object, or None when there is nothing more to do with it.

        None for events after an error, for empty events, and for events that
        are errors themselves (``event: error``, an ``error`` member) or not a
        JSON object: those set the error.
        """
        obj = self.decode(event)
        if obj is None:
            return None
        if event.event == "error":
            error = obj.get("error", obj)
            self.fail(classify_error_object(error), describe_error_object(error))
            return None
        error = obj.get("error")
        if error:
            self.fail(classify_error_object(error), describe_error_object(error))
            return None
        return obj

    def decode(self, event: ServerSentEvent) -> dict[str, Any] | None:
        """The event's data as a JSON object; None after an error, for an empty event,
        and for data that is not a JSON object (which is the answer's error)."""
        if self.error_class is not None:
            return None
        data = event.data
        if not data or data.isspace():
            return None
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            self.fail(
                ErrorClass.PROTOCOL,
                f"invalid JSON in a streamed event ({exc}): {event.text[:200]!r}",
            )
            return None
        if not isinstance(obj, dict):
            self.fail(
                ErrorClass.PROTOCOL, f"a streamed event is not a JSON object: {event.text[:200]!r}"
            )
            return None
        return obj

    def add_text(self, text: str) -> None:
        """Keep `text` as part of the answer, as far as `max_text_chars` allows."""
        room = self.text_room
        if len(text) <= room:
            self.text.append(text)
            self.text_room = room - len(text)
        else:
            if room:
                self.text.append(text[:room])
                self.text_room = 0
            self.dropped_chars += len(text) - room

    def fail(self, error_class: ErrorClass, message: str) -> None:
        """Note the answer's first error."""
        if self.error_class is None:
            self.error_class = error_class
            self.error = message

    def read_choices(self, event: ServerSentEvent) -> tuple[list[Any], int | None] | None:
        """For the chat and completions streams: the event's choices and the tokens it
        carried by a running usage total (None when unknown), or None when it has no
        choices. Notes ``[DONE]``, the answer's id and any usage on the way."""
        if event.data == b"[DONE]":
            self.finished = True
            return None
        obj = self.load(event)
        if obj is None:
            return None
        if self.response_id is None:
            self.response_id = obj.get("id")
        choices = obj.get("choices")
        usage = obj.get("usage")
        event_tokens = None
        if usage:
            self.usage = usage
            if choices:
                event_tokens = self.continuous_tokens(usage)
        if not choices:
            return None
        return choices, event_tokens

    def continuous_tokens(self, usage: Mapping[str, Any]) -> int | None:
        """Tokens a chunk carried, from a running usage total sent with every chunk (vLLM)."""
        total = usage.get("completion_tokens")
        if total is None:
            total = usage.get("output_tokens")
        if not isinstance(total, int):
            return None
        tokens = total - self.last_completion_tokens
        self.last_completion_tokens = total
        return tokens

    def response(self) -> InvocationResponse:
        """The record of the answer so far (timings are stamped by the caller)."""
        truncated = self.dropped_chars or None
        if self.error_class is not None:
            assert self.error is not None
            return InvocationResponse.error_output(
                self.error, self.error_class, response_text="".join(self.text) or None,
                id=self.response_id, truncated_chars=truncated,
            )  # fmt: skip
        response = InvocationResponse(
            response_text="".join(self.text),
            id=self.response_id,
            truncated_chars=truncated,
            stop_reason=self.stop_reason,
        )
        if self.usage is not None:
            apply_usage(response, self.usage)
        return response
