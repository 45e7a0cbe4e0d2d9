"""`load_prompts`: payloads made from text files of prompts, one prompt a line."""

from __future__ import annotations

import io
import logging
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import fsspec

from ..storage import resolve

__all__ = ["load_prompts"]

logger = logging.getLogger(__name__)


def _prompt_files(fs: fsspec.AbstractFileSystem, folder: str, pattern: str) -> list[str]:
    found = fs.glob(posixpath.join(folder, pattern))
    return sorted(p for p in found if fs.isfile(p))


def _lines(fs: fsspec.AbstractFileSystem, path: str, encoding: str) -> Iterator[str]:
    """The stripped, non-blank lines of a text file."""
    with fs.open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=encoding) as text:
        for line in text:
            if line.strip():
                yield line.strip()


def load_prompts(
    file_path: str | os.PathLike[str],
    create_payload_fn: Callable[..., Any],
    create_payload_kwargs: Mapping[str, Any] | None = None,
    file_pattern: str | None = None,
    *,
    encoding: str = "utf-8-sig",
) -> Iterator[Any]:
    """A payload for each line of a prompt file, or of the files of a folder.

    Each non-blank line, stripped, is passed as
    ``create_payload_fn(input_text=line, **create_payload_kwargs)`` (an
    endpoint's ``create_payload``, say). A folder's files matching
    `file_pattern` (a glob, default every file) are read in name order; there
    a line whose payload cannot be made is logged and skipped, as in LLMeter,
    since a folder may hold other files; in a single file the error is raised.
    `file_path` is a local path or any fsspec URL.
    """
    url = os.fspath(file_path)
    fs, path = resolve(url)
    kwargs = dict(create_payload_kwargs or {})
    if fs.isfile(path):
        for line in _lines(fs, path, encoding):
            yield create_payload_fn(input_text=line, **kwargs)
        return
    if not fs.isdir(path):
        raise FileNotFoundError(f"no prompt file or folder at {url}")
    files = _prompt_files(fs, path, file_pattern or "*")
    if not files:
        raise FileNotFoundError(f"{url} has no files matching {file_pattern or '*'!r}")
    for name in files:
        for line in _lines(fs, name, encoding):
            try:
                payload = create_payload_fn(input_text=line, **kwargs)
            except Exception:
                logger.exception("%s: no payload made from the line %r; skipped", name, line)
                continue
            yield payload
