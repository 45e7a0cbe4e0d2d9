"""The AWS binary event stream (``application/vnd.amazon.eventstream``), decoded as it arrives.

Bedrock's and SageMaker's streaming APIs frame every event in a binary
message: a prelude with the lengths and a CRC, string headers
(``:message-type``, ``:event-type`` or ``:exception-type``, ``:content-type``),
the payload and a CRC of the whole. botocore's own parser
(`botocore.eventstream.EventStreamBuffer`) reads the frames and checks both
CRCs; `EventStreamDecoder` feeds it the bytes httpx hands over, however they
are cut, and returns the complete messages as `StreamEvent`s::

    decoder = EventStreamDecoder()
    for data in pieces:                  # as they arrive
        for event in decoder.feed(data):
            ...

A frame that fails its checksum (or is otherwise malformed) raises
`CorruptEventStream`: the stream cannot be resynchronised after it, so the
decoder then refuses further bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from botocore.eventstream import EventStreamBuffer, ParserError  # type: ignore[import-untyped]

__all__ = ["CONTENT_TYPE", "CorruptEventStream", "EventStreamDecoder", "StreamEvent"]

CONTENT_TYPE = "application/vnd.amazon.eventstream"


class CorruptEventStream(ValueError):
    """The event stream broke its framing (a CRC mismatch, an impossible length)."""


class StreamEvent:
    """One decoded message.

    `message_type` is ``"event"``, ``"exception"`` (a modelled error such as
    ``throttlingException``) or ``"error"`` (a protocol-level one).
    `event_type` names an event (``contentBlockDelta``, ``chunk``,
    ``PayloadPart``); `exception_type` names an exception or, for an
    ``error`` message, its ``:error-code``. `payload` is the raw bytes.
    """

    __slots__ = ("event_type", "exception_type", "message_type", "payload")

    def __init__(
        self,
        message_type: str,
        event_type: str | None = None,
        exception_type: str | None = None,
        payload: bytes = b"",
    ) -> None:
        self.message_type = message_type
        self.event_type = event_type
        self.exception_type = exception_type
        self.payload = payload

    def json(self) -> Any:
        """The payload parsed as JSON (raises `orjson.JSONDecodeError` if it is not)."""
        return orjson.loads(self.payload)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreamEvent):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def _key(self) -> tuple[str, str | None, str | None, bytes]:
        return (self.message_type, self.event_type, self.exception_type, self.payload)

    def __repr__(self) -> str:
        return (
            f"StreamEvent(message_type={self.message_type!r}, event_type={self.event_type!r}, "
            f"exception_type={self.exception_type!r}, payload={self.payload[:80]!r})"
        )


def _event(headers: dict[str, Any], payload: bytes) -> StreamEvent:
    message_type = headers.get(":message-type") or "event"
    if message_type == "error":  # its text is in a header: carry it as an exception's JSON
        if not payload:
            payload = orjson.dumps({"message": headers.get(":error-message") or ""})
        return StreamEvent("error", None, headers.get(":error-code"), payload)
    return StreamEvent(
        message_type, headers.get(":event-type"), headers.get(":exception-type"), payload
    )


class EventStreamDecoder:
    """Turns bytes, fed as they arrive, into complete `StreamEvent`s (see the module doc)."""

    __slots__ = ("_buffer", "_corrupt", "_pending")

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self._corrupt: str | None = None
        self._pending = 0  # bytes fed and not yet part of a complete message

    def feed(self, data: bytes) -> Iterator[StreamEvent]:
        """The messages `data` completes, in order.

        A generator: the messages before a corrupt frame are yielded before
        `CorruptEventStream` is raised.
        """
        if self._corrupt is not None:
            raise CorruptEventStream(self._corrupt)
        buffer = self._buffer
        buffer.add_data(data)
        self._pending += len(data)
        try:
            for message in buffer:
                self._pending -= message.prelude.total_length
                yield _event(message.headers, message.payload)
        except ParserError as exc:
            self._corrupt = f"corrupt event stream: {type(exc).__name__}: {exc}"
            raise CorruptEventStream(self._corrupt) from None

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished message are waiting (at the end: a cut stream)."""
        return self._corrupt is None and self._pending > 0
