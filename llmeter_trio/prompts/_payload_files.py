"""Payload files: JSON and JSONL, single files or folders of them, at any fsspec URL.

A ``.jsonl`` (or ``.manifest``) file holds one payload object per line; any
other file one JSON document, a payload object or a list of them. Bytes values
(images, audio) survive a round trip as tagged base64: llmeter-trio's tag (see
`llmeter_trio.storage.dumps`) or LLMeter's ``{"__llmeter_bytes__": ...}``,
both read, either written.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..json_utils import LLMETER_BYTES_KEY, llmeter_default_serializer
from ..storage import _BYTES_KEY as TRIO_BYTES_KEY  # the tag `dumps` writes bytes with
from ..storage import dumps, open_atomic, resolve

__all__ = [
    "BytesFormat",
    "InvalidJson",
    "PayloadBytesError",
    "PayloadFileError",
    "load_payloads",
    "save_payloads",
]

logger = logging.getLogger(__name__)

BytesFormat = Literal["llmeter-trio", "llmeter"]
"""How `save_payloads` writes bytes: this project's tag, or LLMeter's ``__llmeter_bytes__``."""
InvalidJson = Literal["raise", "skip"]
"""What `load_payloads` does with a line or file that is not JSON."""

PAYLOAD_SUFFIXES = (".json", ".jsonl")  # what a folder's files are read for
JSONL_SUFFIXES = (".jsonl", ".manifest")  # one payload a line (SageMaker's manifests too)
_BOM = b"\xef\xbb\xbf"


class PayloadFileError(ValueError):
    """A payload file that cannot be read: says which file, which line, and what is wrong."""

    def __init__(self, url: str, line: int | None, problem: str) -> None:
        where = url if line is None else f"{url}, line {line}"
        super().__init__(f"{where}: {problem}")
        self.url = url
        self.line = line
        self.problem = problem


class PayloadBytesError(PayloadFileError, binascii.Error):
    """A tagged bytes value that is not base64; also a `binascii.Error`, as LLMeter raises."""


def _display(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A path as the user would write it: plain for local files, a URL otherwise."""
    if isinstance(fs, LocalFileSystem):
        return path
    return str(fs.unstrip_protocol(path))


def _bytes_back(obj: dict[str, Any]) -> Any:
    """A tagged bytes object, either tool's tag, as bytes; any other object as it is."""
    if len(obj) == 1:
        tagged = obj.get(LLMETER_BYTES_KEY, obj.get(TRIO_BYTES_KEY))
        if isinstance(tagged, str):
            return base64.b64decode(tagged)
    return obj


def _parse(data: bytes, url: str, line: int | None) -> Any:
    """One JSON document with its bytes values restored, whichever tag they carry.

    Read with Python's `json`, as LLMeter writes and reads: integers of any
    size stay exact, and ``NaN`` and ``Infinity`` are read. A tagged value
    that is not base64 raises `PayloadBytesError`.
    """
    try:
        return json.loads(data, object_hook=_bytes_back)
    except binascii.Error as exc:
        raise PayloadBytesError(url, line, f"a bytes value is not base64 ({exc})") from None


_KINDS = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}


def _kind(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else "a boolean"
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _read_jsonl(
    fs: fsspec.AbstractFileSystem, path: str, invalid_json: InvalidJson
) -> Iterator[dict[str, Any]]:
    url = _display(fs, path)
    with fs.open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if not line.strip():
                continue
            try:
                payload = _parse(line, url, number)
            except PayloadBytesError:
                raise
            except ValueError as exc:
                if invalid_json == "skip":
                    logger.warning("%s, line %d: not valid JSON (%s); skipped", url, number, exc)
                    continue
                raise PayloadFileError(url, number, f"not valid JSON ({exc})") from None
            if not isinstance(payload, dict):
                raise PayloadFileError(
                    url, number, f"holds {_kind(payload)}, not a payload object: one {{...}} a line"
                )
            yield payload


def _read_json(
    fs: fsspec.AbstractFileSystem, path: str, invalid_json: InvalidJson
) -> Iterator[dict[str, Any]]:
    url = _display(fs, path)
    with fs.open(path, "rb") as f:
        data = f.read().removeprefix(_BOM)
    try:
        document = _parse(data, url, None)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg == "Extra data":
            hint = "; if it holds one object a line, give it the .jsonl suffix"
        if invalid_json == "skip":
            logger.warning("%s: not valid JSON (%s); skipped", url, exc)
            return
        raise PayloadFileError(
            url, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno}){hint}"
        ) from None
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            what = "the document" if items is not document else f"item {index} of the list"
            raise PayloadFileError(
                url, None, f"{what} is {_kind(item)}; expected a payload object or a list of them"
            )
    yield from items


def _read_file(
    fs: fsspec.AbstractFileSystem, path: str, invalid_json: InvalidJson
) -> Iterator[dict[str, Any]]:
    if path.lower().endswith(JSONL_SUFFIXES):
        return _read_jsonl(fs, path, invalid_json)
    return _read_json(fs, path, invalid_json)


def load_payloads(
    file_path: str | os.PathLike[str], *, invalid_json: InvalidJson = "raise"
) -> Iterator[dict[str, Any]]:
    """Every payload in a JSON or JSONL file, or in the ``.json``/``.jsonl`` files of a folder.

    `file_path` is a local path or any fsspec URL (``memory://``, ``s3://``,
    ...); a ``.manifest`` file is read as JSONL. A folder's files are read in
    name order. Payloads are yielded as they are read, so a large JSONL file
    is never held in memory at once. A bad line raises `PayloadFileError`
    naming the file and line; with ``invalid_json="skip"`` (LLMeter's way) a
    line or file that is not JSON is logged and skipped instead. Bytes come
    back as bytes from either tag; a tagged value that is not base64 raises
    `PayloadBytesError`.
    """
    url = os.fspath(file_path)
    fs, path = resolve(url)
    if fs.isdir(path):
        files = sorted(
            p for p in fs.ls(path, detail=False) if p.endswith(PAYLOAD_SUFFIXES) and fs.isfile(p)
        )
        if not files:
            raise FileNotFoundError(f"{url} is a folder with no .json or .jsonl payload files")
        for name in files:
            yield from _read_file(fs, name, invalid_json)
    elif fs.isfile(path):
        yield from _read_file(fs, path, invalid_json)
    else:
        raise FileNotFoundError(f"no payload file or folder at {url}")


def _encode(document: Any, bytes_format: BytesFormat, indent: bool = False) -> bytes:
    """JSON bytes: this project's (orjson), or as LLMeter writes (`json.dumps`, its serializer)."""
    if bytes_format == "llmeter":
        return json.dumps(
            document, default=llmeter_default_serializer, indent=2 if indent else None
        ).encode()
    return dumps(document, indent=indent)


def save_payloads(
    payloads: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    output_path: str | os.PathLike[str],
    output_file: str = "payload.jsonl",
    *,
    bytes_format: BytesFormat = "llmeter-trio",
) -> Path | str:
    """Write payloads to ``{output_path}/{output_file}`` and return where they went.

    A ``.jsonl`` name (the default) gets one payload a line; any other name
    one JSON list. Bytes values are kept as tagged base64, so `load_payloads`
    gives back exactly what was saved. ``bytes_format="llmeter"`` writes the
    file as LLMeter does (`json.dumps`, ``{"__llmeter_bytes__": ...}``, objects
    with ``to_dict()``), for LLMeter to read. Returns a `Path` for a local
    destination, the URL for any other.
    """
    items = [payloads] if isinstance(payloads, Mapping) else list(payloads)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TypeError(f"payload #{index} is a {type(item).__name__}, not a dict")
    if bytes_format not in ("llmeter-trio", "llmeter"):
        raise ValueError(f"bytes_format must be 'llmeter-trio' or 'llmeter', not {bytes_format!r}")
    fs, folder = resolve(os.fspath(output_path))
    fs.makedirs(folder, exist_ok=True)
    path = posixpath.join(folder, output_file)
    with open_atomic(fs, path) as f:
        if output_file.endswith(".jsonl"):
            for item in items:
                f.write(_encode(dict(item), bytes_format) + b"\n")
        else:
            f.write(_encode([dict(item) for item in items], bytes_format, indent=True))
    if isinstance(fs, LocalFileSystem):
        return Path(path)
    return _display(fs, path)
