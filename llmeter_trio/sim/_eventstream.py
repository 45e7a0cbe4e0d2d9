"""The AWS binary event-stream framing (``application/vnd.amazon.eventstream``).

A message is a 12-byte prelude (total length, headers length, both big-endian
uint32, then the CRC32 of those 8 bytes), the headers, the payload, and the
CRC32 of everything before it. Each header is a one-byte name length, the
name, a one-byte value type (7: string) and, for strings, a two-byte length
and the UTF-8 value. Bedrock and SageMaker stream their responses this way;
``:message-type`` says whether a message is an ``event`` or an ``exception``.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["CONTENT_TYPE", "encode_message", "event_message", "exception_message"]

CONTENT_TYPE = b"application/vnd.amazon.eventstream"
_STRING = 7
_PRELUDE = struct.Struct("!II")
_CRC = struct.Struct("!I")


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        bytes((len(raw_name),))
        + raw_name
        + bytes((_STRING,))
        + struct.pack("!H", len(raw_value))
        + raw_value
    )


def encode_message(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One framed message with string `headers` around `payload`."""
    head = b"".join([_header(name, value) for name, value in headers])
    prelude = _PRELUDE.pack(12 + len(head) + len(payload) + 4, len(head))
    prelude += _CRC.pack(zlib.crc32(prelude))
    message = prelude + head + payload
    return message + _CRC.pack(zlib.crc32(message))


def event_message(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """An ``event`` message of `event_type` (e.g. ``contentBlockDelta``, ``chunk``)."""
    headers = [
        (":event-type", event_type),
        (":content-type", content_type),
        (":message-type", "event"),
    ]
    return encode_message(headers, payload)


def exception_message(exception_type: str, payload: bytes) -> bytes:
    """An ``exception`` message (e.g. ``throttlingException``); `payload` is its JSON."""
    headers = [
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    ]
    return encode_message(headers, payload)
