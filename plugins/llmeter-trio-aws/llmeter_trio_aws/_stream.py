"""`EventStreamState`: one streamed answer read from its AWS event stream as bytes arrive.

Each API subclasses it with an `on_event` that reads one event and records a
chunk on the `StreamRecorder` when the event carried output. The endpoint's
read loop is::

    state = ConverseStreamState(recorder)
    async for data in response.aiter_bytes():
        state.feed(data)
    record = recorder.finish(state.close())

(the states are the `StreamReader` an `HttpEndpoint` asks for).

Exceptions inside the stream (``throttlingException``, ``ModelStreamError``,
...) become the answer's error, classified by name; a frame that fails its
checksum is a PROTOCOL error; a stream that stops inside a message is a
CONNECTION error, and one that ends before the API's end of the answer a
PROTOCOL error. After the first error, later bytes are read and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from llmeter_trio.endpoints import ErrorClass, InvocationResponse, StreamRecorder

from ._answer import Answer
from ._errors import MAX_ERROR_CHARS, classify_error_name, known_error_class
from ._eventstream import CorruptEventStream, EventStreamDecoder, StreamEvent

__all__ = ["EventStreamState", "describe_exception"]


def describe_exception(event: StreamEvent) -> tuple[ErrorClass, str]:
    """The class and message of an ``exception`` (or ``error``) message.

    The exception's name decides, unless its payload names a known error in
    ``ErrorCode`` (SageMaker's ``ModelStreamError`` carries the container's).
    """
    name = event.exception_type or "exception"
    try:
        obj: Any = orjson.loads(event.payload) if event.payload else {}
    except orjson.JSONDecodeError:
        obj = None
    details = obj if isinstance(obj, Mapping) else {}
    message = details.get("message") or details.get("Message")
    if not isinstance(message, str):
        message = event.payload[:MAX_ERROR_CHARS].decode("utf-8", "replace")
    error_class = classify_error_name(name)
    code = details.get("ErrorCode")
    if isinstance(code, str):
        error_class = known_error_class(code) or error_class
        if code != name:
            message += f" (ErrorCode {code})"
    if "OriginalStatusCode" in details:
        message += f" (OriginalStatusCode {details['OriginalStatusCode']})"
    return error_class, f"{name}: {message}"[:MAX_ERROR_CHARS]


class EventStreamState(Answer):
    """A streamed answer: decodes the event stream and hands each message to `on_event`."""

    __slots__ = ("_decoder", "last_output_total", "max_response_chars", "recorder")

    # What marks the end of a complete answer, for the error when it is missing.
    end_marker: ClassVar[str] = "a final event"

    def __init__(self, recorder: StreamRecorder, *, max_response_chars: int | None = None) -> None:
        super().__init__()
        self.recorder = recorder
        self.max_response_chars = max_response_chars  # characters of text the record keeps
        self._decoder = EventStreamDecoder()
        self.last_output_total = 0  # a running output-token total seen in the chunks so far

    def feed(self, data: bytes) -> None:
        """Read the bytes just received: every message they complete."""
        try:
            for event in self._decoder.feed(data):
                if self.error_class is not None:
                    continue
                if event.message_type == "event":
                    self.on_event(event)
                else:
                    self.fail(*describe_exception(event))
        except CorruptEventStream as exc:
            self.fail(ErrorClass.PROTOCOL, str(exc))

    def on_event(self, event: StreamEvent) -> None:
        """Read one event (subclasses: one per API)."""
        raise NotImplementedError

    def close(self) -> InvocationResponse:
        """The stream ended: note a message cut short, or an answer without its end; the
        record of the answer (its timings are stamped by the recorder's `finish`)."""
        if self._decoder.pending:
            self.fail(ErrorClass.CONNECTION, "the stream ended in the middle of a message")
        elif not self.finished:
            self.fail(
                ErrorClass.PROTOCOL,
                f"the stream ended before the answer was complete (no {self.end_marker})",
            )
        return self.response(self.max_response_chars)

    def invalid_event(self, event: StreamEvent, problem: str) -> None:
        """Note an event whose payload could not be read."""
        self.fail(
            ErrorClass.PROTOCOL,
            f"a {event.event_type} event {problem}: {event.payload[:200]!r}",
        )
