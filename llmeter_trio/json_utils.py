"""LLMeter's JSON helpers, by LLMeter's names: a ``default=`` serializer and a bytes decoder.

For code written against ``llmeter.json_utils``::

    import json
    from llmeter_trio.json_utils import llmeter_bytes_decoder, llmeter_default_serializer

    payload = {"image": {"bytes": b"\\xff\\xd8"}}
    text = json.dumps(payload, default=llmeter_default_serializer)
    assert json.loads(text, object_hook=llmeter_bytes_decoder) == payload

Bytes travel as LLMeter's marker object, ``{"__llmeter_bytes__": "<base64>"}``,
so files written by either tool read in the other. llmeter-trio's own run
folders are written by `llmeter_trio.storage` (orjson, full-precision times).
"""

from __future__ import annotations

import base64
import os
from datetime import date, datetime, time, timezone
from typing import Any

__all__ = [
    "LLMETER_BYTES_KEY",
    "decode_llmeter_bytes",
    "llmeter_bytes_decoder",
    "llmeter_default_serializer",
]

LLMETER_BYTES_KEY = "__llmeter_bytes__"


def llmeter_default_serializer(obj: Any) -> Any:
    """A JSON form of what `json.dumps` cannot write; pass it as ``default=``.

    In this order: an object with ``to_dict()`` becomes that dict (anything
    else from it is a TypeError); bytes become ``{"__llmeter_bytes__":
    base64}``; a datetime becomes UTC ISO 8601 to the second with a ``Z``
    (a naive one is written as it is); a date or time its ISO form; a path its
    POSIX form; anything else its ``str()`` (None when even that fails).
    """
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        document = to_dict()
        if not isinstance(document, dict):
            raise TypeError(
                f"{type(obj).__name__}.to_dict() returned {type(document).__name__}, not a dict"
            )
        return document
    if isinstance(obj, bytes | bytearray | memoryview):
        return {LLMETER_BYTES_KEY: base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, datetime):
        moment = obj.astimezone(timezone.utc) if obj.tzinfo is not None else obj
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(obj, date | time):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        path = os.fspath(obj)
        return path.replace(os.sep, "/") if isinstance(path, str) else os.fsdecode(path)
    try:
        return str(obj)
    except Exception:  # a broken __str__: LLMeter writes null
        return None


def llmeter_bytes_decoder(dct: dict[str, Any]) -> dict[str, Any] | bytes:
    """Bytes back from a ``{"__llmeter_bytes__": base64}`` object; pass it as ``object_hook=``.

    Any other object is returned unchanged.
    """
    if len(dct) == 1 and LLMETER_BYTES_KEY in dct:
        return base64.b64decode(dct[LLMETER_BYTES_KEY])
    return dct


def decode_llmeter_bytes(document: Any) -> Any:
    """`document` with every ``{"__llmeter_bytes__": base64}`` object, at any depth, as bytes.

    The same as reading with ``object_hook=llmeter_bytes_decoder``, for a
    document already parsed (by orjson, say). Bad base64 raises `binascii.Error`.
    """
    if isinstance(document, dict):
        decoded = llmeter_bytes_decoder(document)
        if isinstance(decoded, bytes):
            return decoded
        return {key: decode_llmeter_bytes(value) for key, value in document.items()}
    if isinstance(document, list):
        return [decode_llmeter_bytes(value) for value in document]
    return document
