"""Reading Anthropic Messages answers: the event stream, whole bodies, usage and errors.

A streamed answer is a sequence of server-sent events, each named like the
``type`` of its JSON object::

    message_start        the message's id and input usage (input, cache reads, cache writes)
    content_block_start  a block opens: text, thinking, redacted_thinking, tool_use, ...
    content_block_delta  text_delta, thinking_delta, input_json_delta, signature_delta
    content_block_stop
    message_delta        the stop reason and the server's output token count (cumulative)
    message_stop         the answer is complete
    ping                 keep-alive (ignored)
    error                the server failed part-way: overloaded_error, rate_limit_error, ...

`MessagesStreamState` reads them one at a time, as the OpenAI stream states
do, and records a chunk per delta that carried output: text as CONTENT,
thinking as REASONING, tool input as TOOL. The work per event is one
``orjson.loads`` and a few dict lookups. The same objects arrive, without SSE
framing, in Bedrock's InvokeModelWithResponseStream chunks: `on_object` reads
one of those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import classify_status
from .._http import MAX_ERROR_BODY, body_text
from .._response import ChunkKind, ErrorClass, InvocationResponse, TokenCountSource
from .._sse import ServerSentEvent
from .._timing import StreamRecorder
from ..openai._parsing import StreamState

__all__ = [
    "MessagesStreamState",
    "apply_message_usage",
    "classify_anthropic_error",
    "classify_error_type",
    "describe_anthropic_error",
    "parse_message_body",
]

_CONTENT = ChunkKind.CONTENT
_REASONING = ChunkKind.REASONING
_TOOL = ChunkKind.TOOL

# The output a block (at its start) or a delta carries, by its type: (its field, its kind).
# signature_delta and citations_delta carry none of their own.
_Output = tuple[str, ChunkKind]
_NOTHING: Mapping[str, Any] = {}
_BLOCK_OUTPUT: dict[str, _Output] = {
    "text": ("text", _CONTENT),
    "thinking": ("thinking", _REASONING),
}
_DELTA_OUTPUT: dict[str, _Output] = {
    "text_delta": ("text", _CONTENT),
    "thinking_delta": ("thinking", _REASONING),
    "input_json_delta": ("partial_json", _TOOL),
}

# Anthropic's error types (https://docs.anthropic.com/en/api/errors) and what they mean
# to an operator. A type not listed is a server error: the server took the request, then
# failed.
_ERROR_CLASSES = {
    "rate_limit_error": ErrorClass.THROTTLED,  # 429
    "overloaded_error": ErrorClass.SERVER,  # 529: the API is overloaded
    "api_error": ErrorClass.SERVER,  # 500
    "timeout_error": ErrorClass.SERVER,  # 504: timed out at Anthropic, not our deadline
    "gateway_timeout_error": ErrorClass.SERVER,
    "invalid_request_error": ErrorClass.CLIENT,  # 400
    "authentication_error": ErrorClass.CLIENT,  # 401
    "billing_error": ErrorClass.CLIENT,  # 402
    "permission_error": ErrorClass.CLIENT,  # 403
    "not_found_error": ErrorClass.CLIENT,  # 404
    "request_too_large": ErrorClass.CLIENT,  # 413
}


def classify_error_type(error_type: Any) -> ErrorClass:
    """The class of an Anthropic error ``type`` (``"overloaded_error"``, ...)."""
    if not isinstance(error_type, str):
        return ErrorClass.SERVER
    return _ERROR_CLASSES.get(error_type, ErrorClass.SERVER)


def describe_anthropic_error(error: Any) -> str:
    """``"<type>: <message>"`` for an error object (the ``error`` member of the answer)."""
    if not isinstance(error, Mapping):
        return str(error)[:MAX_ERROR_BODY]
    kind = error.get("type")
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = orjson.dumps(error, default=str).decode()
    text = f"{kind}: {message}" if isinstance(kind, str) and kind else message
    return text[:MAX_ERROR_BODY]


def _error_member(obj: Any) -> Any:
    """The ``error`` object of an error answer or event (``{"type": "error", "error": ...}``)."""
    if isinstance(obj, Mapping):
        error = obj.get("error")
        if error is not None:
            return error
    return obj


def classify_anthropic_error(status: int, body: bytes | str) -> tuple[ErrorClass, str]:
    """The class and message of an HTTP error answer (`status`, not 2xx, and its body).

    The status decides the class (429 throttled, 529 overloaded and every other
    5xx server, other 4xx client); the message is ``"<type>: <message>"`` from
    Anthropic's ``{"type": "error", "error": {...}}`` body, or the start of the
    body when it is something else (a proxy's HTML page).
    """
    raw = body.encode() if isinstance(body, str) else body
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = None
    error = _error_member(obj)
    if isinstance(error, Mapping) and isinstance(error.get("type"), str):
        message = describe_anthropic_error(error)
    else:
        message = body_text(raw) or f"HTTP {status} with an empty body"
    return classify_status(status), message


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def apply_message_usage(response: InvocationResponse, usage: Mapping[str, Any]) -> None:
    """Copy a Messages API usage report into `response`, as the server counted.

    Anthropic counts input in three parts: ``input_tokens`` (not cached),
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens``. The
    record's `num_tokens_input` is their sum, the whole prompt (as OpenAI's
    ``prompt_tokens`` is), `num_tokens_input_cached` the cache reads and
    `num_tokens_input_cache_write` the cache writes.
    ``output_tokens`` is the server's count of everything generated (thinking
    included); ``output_tokens_details.thinking_tokens``, when sent, is the
    reasoning part.
    """
    input_tokens = _int(usage.get("input_tokens"))
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_creation = _int(usage.get("cache_creation_input_tokens"))
    if input_tokens is not None:
        response.num_tokens_input = input_tokens + (cache_read or 0) + (cache_creation or 0)
        response.num_tokens_input_source = TokenCountSource.SERVER
    if cache_read is not None:
        response.num_tokens_input_cached = cache_read
    if cache_creation is not None:
        response.num_tokens_input_cache_write = cache_creation
    output_tokens = _int(usage.get("output_tokens"))
    if output_tokens is not None:
        response.num_tokens_output = output_tokens
        response.num_tokens_output_source = TokenCountSource.SERVER
    details = usage.get("output_tokens_details")
    if isinstance(details, Mapping):
        thinking = _int(details.get("thinking_tokens"))
        if thinking is not None:
            response.num_tokens_output_reasoning = thinking


def parse_message_body(body: Mapping[str, Any]) -> InvocationResponse:
    """The record of a whole (not streamed) answer: a ``message`` object, or an error.

    The text is the ``text`` blocks' text; ``thinking``, ``redacted_thinking``
    and ``tool_use`` blocks are output too, but not text. Usage as in
    `apply_message_usage`; `stop_reason` is the message's.
    """
    if body.get("type") == "error":
        error = _error_member(body)
        return InvocationResponse.error_output(
            describe_anthropic_error(error),
            classify_error_type(error.get("type") if isinstance(error, Mapping) else None),
        )
    text: list[str] = []
    content = body.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, Mapping) and block.get("type") == "text":
                value = block.get("text")
                if isinstance(value, str):
                    text.append(value)
    ident = body.get("id")
    reason = body.get("stop_reason")
    response = InvocationResponse(
        response_text="".join(text),
        id=ident if isinstance(ident, str) else None,
        stop_reason=reason if isinstance(reason, str) else None,
    )
    usage = body.get("usage")
    if isinstance(usage, Mapping):
        apply_message_usage(response, usage)
    return response


def _mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else _NOTHING


class MessagesStreamState(StreamState):
    """Reads one streamed Messages API answer, event by event.

    Output chunks: ``text_delta`` is CONTENT, ``thinking_delta`` REASONING,
    ``input_json_delta`` TOOL; a ``tool_use`` block's start is TOOL (its name),
    a ``redacted_thinking`` block's start is REASONING (no readable text, so no
    characters). ``signature_delta``, ``citations_delta``, ``ping`` and empty
    deltas record nothing. The answer is complete at ``message_stop``
    (`finished`); an ``error`` event fails it, with its class from the error's
    type. The usage of ``message_start`` is updated by ``message_delta``, whose
    ``output_tokens`` is the server's final count (``message_start`` has a
    placeholder).
    """

    __slots__ = ("message_usage",)
    end_marker = "message_stop"

    def __init__(self, recorder: StreamRecorder, *args: Any, **kwargs: Any) -> None:
        # (extra arguments are the base's: e.g. a cap on the text kept)
        super().__init__(recorder, *args, **kwargs)
        self.message_usage: dict[str, Any] = {}

    @property
    def cache_creation_tokens(self) -> int | None:
        """Input tokens written to the prompt cache, as the server reported them."""
        return _int(self.message_usage.get("cache_creation_input_tokens"))

    def on_event(self, event: ServerSentEvent) -> None:
        obj = self.decode(event)  # Anthropic's error events are read by `on_object`
        if obj is not None:
            self.on_object(obj)

    def on_object(self, obj: dict[str, Any]) -> None:
        """Read one event's JSON object (an SSE event's data, or a Bedrock chunk's)."""
        if self.error_class is not None:
            return
        kind = obj.get("type")
        if kind == "content_block_delta":
            delta = obj.get("delta")
            if isinstance(delta, Mapping):
                self._record_output(delta, _DELTA_OUTPUT)
        elif kind == "content_block_start":
            self._start_block(obj.get("content_block"))
        elif kind == "message_start":
            message = _mapping(obj.get("message"))
            ident = message.get("id")
            if isinstance(ident, str):
                self.response_id = ident
            self._note_usage(message.get("usage"), start=True)
        elif kind == "message_delta":
            reason = _mapping(obj.get("delta")).get("stop_reason")
            if isinstance(reason, str):
                self.stop_reason = reason
            self._note_usage(obj.get("usage"), start=False)
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            error = _error_member(obj)
            kind_of_error = error.get("type") if isinstance(error, Mapping) else None
            self.fail(classify_error_type(kind_of_error), describe_anthropic_error(error))
        # ping, content_block_stop and event types added later: nothing to record

    def _record_output(self, part: Mapping[str, Any], output: Mapping[str, _Output]) -> bool:
        """Record the output a block or delta carries, by its type; whether `output` has it."""
        part_type = part.get("type")
        carried = output.get(part_type) if isinstance(part_type, str) else None
        if carried is None:
            return False
        field, kind = carried
        value = part.get(field)
        if value and isinstance(value, str):
            if kind is _CONTENT:
                self.add_text(value)
            self.recorder.chunk(len(value), kind)
        return True

    def _start_block(self, block: Any) -> None:
        if not isinstance(block, Mapping) or self._record_output(block, _BLOCK_OUTPUT):
            return
        block_type = block.get("type")
        if block_type == "redacted_thinking":
            self.recorder.chunk(0, _REASONING)  # reasoning happened; its text is encrypted
        elif block_type in ("tool_use", "server_tool_use"):
            name = block.get("name")
            self.recorder.chunk(len(name) if isinstance(name, str) else 0, _TOOL)

    def _note_usage(self, usage: Any, *, start: bool) -> None:
        if not isinstance(usage, Mapping):
            return
        if start:  # message_start's output_tokens is a placeholder, not a count
            usage = {k: v for k, v in usage.items() if k != "output_tokens"}
        self.message_usage.update(usage)  # message_delta's counts are cumulative

    def response(self) -> InvocationResponse:
        """The record of the answer so far (timings are stamped by the caller)."""
        response = super().response()
        if response.error_class is None and self.message_usage:
            apply_message_usage(response, self.message_usage)
        return response
