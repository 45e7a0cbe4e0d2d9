"""An incremental server-sent events parser that works on bytes as they arrive.

The event stream format (WHATWG HTML, "Server-sent events") is a sequence of
lines; a blank line ends an event. Only three things end a line: CRLF, a lone
LF and a lone CR. That is why this parser never goes through text-level line
splitting such as ``str.splitlines`` or httpx's ``aiter_lines``: those also
break on U+2028, U+2029, U+0085 and friends, which may appear unescaped inside
JSON strings, and would cut an event in two.

Working on bytes makes the rest simple and fast:

- CR and LF never occur inside a multi-byte UTF-8 sequence, so a read that
  ends half-way through a character needs no special care: the partial line
  waits for the next read, and the data is decoded (or handed to a JSON
  parser, which takes bytes) only once its event is complete;
- a CR at the very end of a read ends its line at once (so an event ending in
  CR is dispatched without waiting for more bytes); an LF at the start of the
  next read is then taken as the second half of that CRLF.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b'event: ping\\ndata: {"a": 1}\\n')
    []
    >>> decoder.feed(b"\\n")
    [ServerSentEvent(event='ping', data=b'{"a": 1}', id='', retry=None)]

`SSEReader` is the stream reader an `HttpEndpoint` uses for such a stream: it
decodes each read and hands the events to the API's stream state.
"""

from __future__ import annotations

from typing import Final, Protocol

from ._response import ErrorClass, InvocationResponse

__all__ = ["EventState", "SSEDecoder", "SSEReader", "ServerSentEvent"]

_BOM: Final = b"\xef\xbb\xbf"
_CR: Final = 13
_LF: Final = 10
_COLON: Final = 58
_SPACE: Final = 32


class ServerSentEvent:
    """One dispatched event.

    `data` is the raw bytes of the event's data (its ``data:`` lines joined by
    LF), because JSON parsers read bytes directly; `text` decodes it.
    """

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, event: str = "message", data: bytes = b"", id: str = "", retry: int | None = None
    ) -> None:
        self.event = event
        self.data = data
        self.id = id  # the last event ID seen so far in the stream
        self.retry = retry  # the last valid ``retry:`` value seen so far, in milliseconds

    @property
    def text(self) -> str:
        """The data as text (invalid UTF-8 replaced, as the standard asks)."""
        return self.data.decode("utf-8", "replace")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.event, self.data, self.id, self.retry) == (
            other.event,
            other.data,
            other.id,
            other.retry,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )


class SSEDecoder:
    """Turns the bytes of an event stream, read by read, into events.

    Call `feed` with each read in order; it returns the events that read
    completed (often none, sometimes several). Call `close` at the end of the
    stream: it reports whether the stream stopped in the middle of an event,
    which the standard says to discard, and which usually means a truncated
    response.
    """

    __slots__ = ("_bom_pending", "_data", "_event", "_last_id", "_retry", "_skip_lf", "_tail")

    def __init__(self) -> None:
        self._tail: list[bytes] = []  # the unterminated line so far, piece by piece
        self._data: list[bytes] = []  # the data lines of the event being built
        self._event: bytes | None = None
        self._last_id = ""
        self._retry: int | None = None
        self._skip_lf = False  # the last read ended with CR: an LF next completes a CRLF
        self._bom_pending: bytes | None = b""  # None once the stream's first bytes were checked

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by the next read of the stream."""
        if self._bom_pending is not None:
            chunk = self._bom_pending + chunk
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._bom_pending = chunk
                return []
            self._bom_pending = None
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if b"\r" in chunk:
            # Within one read a CR followed by LF is one CRLF; a CR ending the read
            # ends its line now, and an LF starting the next read is then skipped.
            self._skip_lf = chunk[-1] == _CR
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()  # after the last line end: the start of a line to come
        tail = self._tail
        if not lines:
            if rest:
                tail.append(rest)
            return []
        if tail:
            tail.append(lines[0])
            lines[0] = b"".join(tail)
            tail.clear()
        if rest:
            tail.append(rest)
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif line.startswith(b"data: "):  # the usual lines first
                data.append(line[6:])
            elif line.startswith(b"data:"):
                data.append(line[5:])
            elif line[0] != _COLON:  # a line starting with a colon is a comment
                self._field(line)
        return events

    def close(self) -> bool:
        """End the stream; True when it stopped part-way through an event (now discarded)."""
        incomplete = bool(self._data or any(self._tail) or self._event is not None)
        self._tail.clear()
        self._data.clear()
        self._event = None
        return incomplete

    def _field(self, line: bytes) -> None:
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 1 :]
            if value and value[0] == _SPACE:
                value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self._retry = int(value)
        # any other field name is ignored, as the standard says

    def _dispatch(self) -> ServerSentEvent | None:
        data_lines = self._data
        event_name = self._event
        self._event = None
        if not data_lines:
            return None
        data = data_lines[0] if len(data_lines) == 1 else b"\n".join(data_lines)
        data_lines.clear()
        name = "message" if not event_name else event_name.decode("utf-8", "replace")
        return ServerSentEvent(name, data, self._last_id, self._retry)


class EventState(Protocol):
    """What an `SSEReader` feeds: one API's reading of a streamed answer, event by event.

    The OpenAI and Anthropic stream states (`StreamState` and its subclasses) are these.
    """

    @property
    def finished(self) -> bool:
        """Whether the API's own end of the answer was seen."""

    @property
    def end_marker(self) -> str:
        """What marks that end, for the error when it never came."""

    def on_event(self, event: ServerSentEvent) -> None:
        """Read one event (recording a chunk if it carried output)."""

    def fail(self, error_class: ErrorClass, message: str) -> None:
        """Note the answer's first error."""

    def response(self) -> InvocationResponse:
        """The record of the answer so far."""


class SSEReader:
    """Reads a server-sent events stream into an `EventState`: a `StreamReader`.

    `feed` decodes one read and hands each completed event to the state;
    `close` notes a stream cut inside an event, or one that ended before the
    API's end of the answer, and returns the state's record.
    """

    __slots__ = ("_decode", "_decoder", "_on_event", "state")

    def __init__(self, state: EventState) -> None:
        self.state = state
        self._decoder = SSEDecoder()
        self._decode = self._decoder.feed
        self._on_event = state.on_event

    def feed(self, data: bytes) -> None:
        """Read the bytes just received: every event they complete."""
        on_event = self._on_event
        for event in self._decode(data):
            on_event(event)

    def fail(self, error_class: ErrorClass, message: str) -> None:
        """Note an error from outside the stream (it broke off)."""
        self.state.fail(error_class, message)

    def close(self) -> InvocationResponse:
        """The stream ended: its record (timings are stamped by the caller)."""
        state = self.state
        if self._decoder.close():
            state.fail(
                ErrorClass.PROTOCOL,
                "the stream ended in the middle of an event (its last event was never "
                "ended by a blank line)",
            )
        elif not state.finished:
            state.fail(
                ErrorClass.PROTOCOL,
                f"the stream ended before the answer was complete ({state.end_marker} never came)",
            )
        return state.response()
