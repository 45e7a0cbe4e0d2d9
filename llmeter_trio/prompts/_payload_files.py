"""Payload files: JSON and JSONL, single files or folders of them, at any fsspec URL.

A ``.jsonl`` file holds one payload object per line; any other file one JSON
document, a payload object or a list of them. Bytes values (images, audio)
survive a round trip as tagged base64 (see `llmeter_trio.storage.dumps`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import fsspec
import orjson
from fsspec.implementations.local import LocalFileSystem

from ..storage import dumps, loads, open_atomic, resolve

__all__ = ["PayloadFileError", "load_payloads", "save_payloads"]

PAYLOAD_SUFFIXES = (".json", ".jsonl")
_BOM = b"\xef\xbb\xbf"


class PayloadFileError(ValueError):
    """A payload file that cannot be read: says which file, which line, and what is wrong."""

    def __init__(self, url: str, line: int | None, problem: str) -> None:
        where = url if line is None else f"{url}, line {line}"
        super().__init__(f"{where}: {problem}")
        self.url = url
        self.line = line
        self.problem = problem


def _display(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A path as the user would write it: plain for local files, a URL otherwise."""
    if isinstance(fs, LocalFileSystem):
        return path
    return str(fs.unstrip_protocol(path))


_KINDS = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}


def _kind(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else "a boolean"
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _read_jsonl(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[dict[str, Any]]:
    url = _display(fs, path)
    with fs.open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if not line.strip():
                continue
            try:
                payload = loads(line)
            except ValueError as exc:
                raise PayloadFileError(url, number, f"not valid JSON ({exc})") from None
            if not isinstance(payload, dict):
                raise PayloadFileError(
                    url, number, f"holds {_kind(payload)}, not a payload object: one {{...}} a line"
                )
            yield payload


def _read_json(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[dict[str, Any]]:
    url = _display(fs, path)
    with fs.open(path, "rb") as f:
        data = f.read().removeprefix(_BOM)
    try:
        document = loads(data)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if exc.msg == "unexpected content after document":
            hint = "; if it holds one object a line, give it the .jsonl suffix"
        raise PayloadFileError(
            url, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno}){hint}"
        ) from None
    except ValueError as exc:  # e.g. a tagged bytes value that is not base64
        raise PayloadFileError(url, None, f"not valid JSON ({exc})") from None
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            what = "the document" if items is not document else f"item {index} of the list"
            raise PayloadFileError(
                url, None, f"{what} is {_kind(item)}; expected a payload object or a list of them"
            )
    yield from items


def _read_file(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[dict[str, Any]]:
    if path.endswith(".jsonl"):
        return _read_jsonl(fs, path)
    return _read_json(fs, path)


def load_payloads(file_path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every payload in a JSON or JSONL file, or in the ``.json``/``.jsonl`` files of a folder.

    `file_path` is a local path or any fsspec URL (``memory://``, ``s3://``,
    ...). A folder's files are read in name order. Payloads are yielded as
    they are read, so a large JSONL file is never held in memory at once;
    a bad line raises `PayloadFileError` naming the file and line.
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
            yield from _read_file(fs, name)
    elif fs.isfile(path):
        yield from _read_file(fs, path)
    else:
        raise FileNotFoundError(f"no payload file or folder at {url}")


def save_payloads(
    payloads: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    output_path: str | os.PathLike[str],
    output_file: str = "payload.jsonl",
) -> str:
    """Write payloads to ``{output_path}/{output_file}`` and return where they went.

    A ``.jsonl`` name (the default) gets one payload a line; any other name
    one JSON list. Bytes values are kept (as tagged base64), so
    `load_payloads` gives back exactly what was saved.
    """
    items = [payloads] if isinstance(payloads, Mapping) else list(payloads)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TypeError(f"payload #{index} is a {type(item).__name__}, not a dict")
    fs, folder = resolve(os.fspath(output_path))
    fs.makedirs(folder, exist_ok=True)
    path = posixpath.join(folder, output_file)
    with open_atomic(fs, path) as f:
        if output_file.endswith(".jsonl"):
            for item in items:
                f.write(dumps(dict(item)) + b"\n")
        else:
            f.write(dumps([dict(item) for item in items], indent=True))
    return _display(fs, path)
