"""Time series saved beside a run's records, one JSON object a line.

A local folder gets each batch of lines appended and flushed at once, so a
killed run keeps what was sampled; other filesystems (object stores,
``memory://``) get the whole file, written once when the run ends.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..storage import dumps, exists, iter_lines, loads, open_atomic, resolve

__all__ = ["SeriesFile", "read_series", "write_series"]


class SeriesFile:
    """Lines added during a run to ``{folder}/{name}`` (see the module's docstring)."""

    def __init__(self, folder_url: str, name: str) -> None:
        self._fs, folder = resolve(folder_url)
        self._path = posixpath.join(folder, name)
        self._local = isinstance(self._fs, LocalFileSystem)
        self._buffer: list[bytes] = []
        self._file: Any = None
        if self._local:
            self._fs.makedirs(folder, exist_ok=True)
            self._file = self._fs.open(self._path, "ab")

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Save these rows (appended and flushed at once on a local disk)."""
        data = b"".join(dumps(row) + b"\n" for row in rows)
        if self._file is not None:
            self._file.write(data)
            self._file.flush()
        else:
            self._buffer.append(data)

    def close(self) -> None:
        """Finish the file (elsewhere than a local disk: write it whole, now)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        elif not self._local:
            with open_atomic(self._fs, self._path) as f:
                f.write(b"".join(self._buffer))
            self._buffer = []


def write_series(fs: fsspec.AbstractFileSystem, path: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write a whole series file, whole or not at all."""
    with open_atomic(fs, path) as f:
        for row in rows:
            f.write(dumps(row) + b"\n")


def read_series(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[dict[str, Any]]:
    """The rows of a series file, one at a time (none when there is no such file)."""
    if not exists(fs, path):
        return
    with fs.open(path, "rb") as f:
        yield from iter_lines(f, path, loads)
