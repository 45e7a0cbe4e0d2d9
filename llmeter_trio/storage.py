"""Saving and loading through fsspec, with the one cattrs converter.

A run folder, at any fsspec URL (a local path, ``memory://``, ``s3://``, ...)::

    run_config.json      written when the run starts
    responses.jsonl      local folders: one record per line, appended and flushed per record
    responses/           object stores: numbered segments, then the manifest
      segment-00000.jsonl
      manifest.json
    workers/             a run split across workers: each worker's own run folder
      worker-000/        (``llmeter_trio.distributed``), whose records are the run's
    summary.json         written when the run ends (also after an interrupt)
    stats.json

Object stores cannot append, so records are buffered into segments of at most
`SegmentedSink.records_per_segment` records or `seconds_per_segment` seconds;
a crash loses at most the segment being filled. Every JSON document carries a
``schema_version``. Readers accept a folder with only some of these files: a
killed run loads from whatever reached storage.

Documents are written whole or not at all (`open_atomic`, under `write_json`):
on a local disk into a temporary file beside the target, synced, then renamed
over it; elsewhere (object stores, ``memory://``) put as one whole object. A
crash or a full disk leaves the previous document or none, never a 0-byte or
half-written one. JSONL records are read line by line, never a whole file at once.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol, TypeVar

import cattrs
import fsspec
import orjson
import trio
from cattrs.preconf.orjson import make_converter
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from .endpoints import Chunk, ChunkKind, InvocationResponse

__all__ = [
    "LocalJsonlSink",
    "Location",
    "OutputLocationError",
    "ResponseSink",
    "SCHEMA_VERSION",
    "SegmentedSink",
    "converter",
    "display_url",
    "dumps",
    "exists",
    "has_records",
    "iter_lines",
    "iter_responses",
    "loads",
    "location",
    "open_atomic",
    "open_sink",
    "os_error_reason",
    "read_json",
    "record_paths",
    "resolve",
    "run_io",
    "write_json",
]

T = TypeVar("T")
SCHEMA_VERSION = 1
RESPONSES_FILE = "responses.jsonl"
SEGMENTS_FOLDER = "responses"
MANIFEST_FILE = "manifest.json"
WORKERS_FOLDER = "workers"  # a run split across worker processes: their folders
_BYTES_KEY = "__bytes_base64__"

converter: cattrs.Converter = make_converter()
# bytes stay bytes until `dumps` writes them as a tagged base64 object that `loads` restores
converter.register_unstructure_hook(bytes, lambda b: b)
converter.register_unstructure_hook(
    Chunk, lambda c: [c.time, c.kind.value, c.chars, c.tokens]
)  # compact: a stream has many chunks
converter.register_structure_hook(Chunk, lambda v, _: Chunk(v[0], ChunkKind(v[1]), v[2], v[3]))


def _encode_extra(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot save a value of type {type(value).__name__}: {value!r:.80}")


def _restore_bytes(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES_KEY in value:
            return base64.b64decode(value[_BYTES_KEY])
        return {k: _restore_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_bytes(v) for v in value]
    return value


def dumps(document: Any, *, indent: bool = False) -> bytes:
    """JSON bytes of an unstructured document; bytes values survive as base64."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(document, default=_encode_extra, option=option)


def loads(data: bytes | str) -> Any:
    """The inverse of `dumps`."""
    return _restore_bytes(orjson.loads(data))


class UPathLike(Protocol):
    """A universal-pathlib ``UPath`` (``UPath("s3://bucket/run")``), as far as storage needs it."""

    @property
    def protocol(self) -> str: ...

    @property
    def fs(self) -> fsspec.AbstractFileSystem: ...


# where a folder or file is: a local path or fsspec URL, a `pathlib` path, or a `UPath`
Location = str | os.PathLike[str] | UPathLike


def location(where: Location) -> str:
    """`where` as the local path or fsspec URL string every reader and writer here takes.

    A ``UPath`` becomes its URL (``"memory://runs/r1"``); its storage options
    are not carried over (the filesystem's defaults apply).
    """
    if isinstance(where, str):
        return where
    if isinstance(where, os.PathLike):
        return os.fsdecode(os.fspath(where))
    if isinstance(getattr(where, "protocol", None), str | tuple) and hasattr(where, "fs"):
        return str(where)
    raise TypeError(f"expected a path or URL, not {type(where).__name__}: {where!r:.80}")


def resolve(url: Location) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and path of any fsspec URL, local path or ``UPath``."""
    fs, path = fsspec.core.url_to_fs(location(url))
    return fs, path


async def run_io(fs: fsspec.AbstractFileSystem, function: Callable[..., T], *args: Any) -> T:
    """Call blocking `function` for storage on `fs` from trio.

    Local disks and ``memory://`` answer in microseconds: called inline, so
    runs in virtual time stay deterministic. Anything else (object stores)
    goes to a worker thread, so a slow upload never stalls the event loop.
    """
    if isinstance(fs, LocalFileSystem | MemoryFileSystem):
        return function(*args)
    return await trio.to_thread.run_sync(function, *args)


def exists(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """Whether `path` exists on `fs`."""
    return bool(fs.exists(path))


class OutputLocationError(ValueError):
    """The output location cannot be written (checked before the first request is sent)."""


def os_error_reason(exc: OSError) -> str:
    """What went wrong, in a few words: ``"No space left on device"``, else the error's text."""
    return exc.strerror or str(exc) or type(exc).__name__


def display_url(url: str) -> str:
    """`url` as it may appear in messages: without credentials (``user:password@``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


@contextlib.contextmanager
def open_atomic(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[IO[bytes]]:
    """A binary file whose content appears at `path` whole when the block ends, or not at all.

    On a local disk the bytes go to a hidden temporary file in the same folder,
    are synced, and the file is renamed over `path`; if anything fails, the
    temporary file is removed and `path` keeps what it held. Other filesystems
    (object stores, ``memory://``) get the bytes as one whole object.
    """
    if isinstance(fs, LocalFileSystem):
        folder, name = posixpath.split(path)
        temporary = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            with fs.open(temporary, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            fs.mv(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                fs.rm_file(temporary)
            raise
    else:
        buffer = io.BytesIO()
        yield buffer
        fs.pipe_file(path, buffer.getvalue())


def write_json(fs: fsspec.AbstractFileSystem, path: str, document: dict[str, Any]) -> None:
    """Write one versioned JSON document, whole or not at all (see `open_atomic`).

    Every JSON document llmeter-trio saves is written here.
    """
    data = dumps({"schema_version": SCHEMA_VERSION, **document}, indent=True)
    with open_atomic(fs, path) as f:
        f.write(data)


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any]:
    """Read one JSON document, checking its schema version; errors name the file."""
    with fs.open(path, "rb") as f:
        data = f.read()
    try:
        document = loads(data)
    except orjson.JSONDecodeError as exc:
        what = "an empty file" if not data.strip() else f"not JSON ({exc})"
        raise ValueError(f"{path}: {what}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(document).__name__}")
    version = document.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path}: schema_version must be a whole number, not {version!r:.40}")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path} has schema version {version}; this llmeter-trio reads up to "
            f"{SCHEMA_VERSION}. Upgrade llmeter-trio to load it."
        )
    return document


def has_records(fs: fsspec.AbstractFileSystem, folder: str) -> bool:
    """Whether a run folder already holds streamed records (a JSONL file or segments)."""
    return any(
        exists(fs, posixpath.join(folder, name))
        for name in (RESPONSES_FILE, SEGMENTS_FOLDER, WORKERS_FOLDER)
    )


def response_line(response: InvocationResponse) -> bytes:
    """One record as a JSONL line."""
    return dumps(converter.unstructure(response)) + b"\n"


def iter_lines(file: IO[bytes], where: str, parse: Callable[[bytes], T]) -> Iterator[T]:
    """`parse` of each non-blank line of a JSONL file, read one line at a time.

    A last line cut short by a crash (no newline after it) that does not parse
    is skipped; any other line that does not parse is a ValueError naming
    `where` and the line number.
    """
    for number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        try:
            yield parse(line)
        except ValueError as exc:
            if not line.endswith(b"\n"):  # the last line, cut short by a crash: skip it
                return
            raise ValueError(f"{where}, line {number}: {exc}") from None


def _record(line: bytes) -> InvocationResponse:
    try:
        return converter.structure(loads(line), InvocationResponse)
    except (orjson.JSONDecodeError, cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise ValueError(f"not a response record ({exc})") from None


def _segment_paths(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    segments = posixpath.join(folder, SEGMENTS_FOLDER)
    manifest_path = posixpath.join(segments, MANIFEST_FILE)
    names: set[str] = set()
    if exists(fs, manifest_path):
        names.update(s["name"] for s in read_json(fs, manifest_path)["segments"])
    if exists(fs, segments):
        names.update(
            posixpath.basename(p) for p in fs.ls(segments, detail=False) if p.endswith(".jsonl")
        )
    return [posixpath.join(segments, n) for n in sorted(names)]


def _own_record_paths(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    path = posixpath.join(folder, RESPONSES_FILE)
    return [path] if exists(fs, path) else _segment_paths(fs, folder)


def record_paths(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    """The files holding a run folder's records, in order: its own, or (a run split across
    workers) each worker's in turn."""
    paths = _own_record_paths(fs, folder)
    workers = posixpath.join(folder, WORKERS_FOLDER)
    if paths or not exists(fs, workers):
        return paths
    names = sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(workers, detail=False))
    return [p for name in names for p in _own_record_paths(fs, posixpath.join(workers, name))]


def iter_responses(fs: fsspec.AbstractFileSystem, folder: str) -> Iterator[InvocationResponse]:
    """Every record saved in a run folder, in the order it was written, one at a time."""
    for path in record_paths(fs, folder):
        with fs.open(path, "rb") as f:
            yield from iter_lines(f, path, _record)


class ResponseSink(Protocol):
    """Where a run streams its records while it runs."""

    async def write(self, response: InvocationResponse) -> None: ...

    async def close(self) -> None: ...


class LocalJsonlSink:
    """Appends each record to ``responses.jsonl`` and flushes it at once."""

    def __init__(self, fs: fsspec.AbstractFileSystem, folder: str) -> None:
        self._file = fs.open(posixpath.join(folder, RESPONSES_FILE), "ab")

    async def write(self, response: InvocationResponse) -> None:
        self._file.write(response_line(response))
        self._file.flush()

    async def close(self) -> None:
        self._file.close()


class SegmentedSink:
    """Buffers records into numbered segments; writes each in a worker thread.

    The manifest is rewritten after every segment and marked complete last.
    """

    def __init__(
        self,
        fs: fsspec.AbstractFileSystem,
        folder: str,
        records_per_segment: int = 1000,
        seconds_per_segment: float = 10.0,
    ) -> None:
        self._fs = fs
        self._folder = posixpath.join(folder, SEGMENTS_FOLDER)
        self.records_per_segment = records_per_segment
        self.seconds_per_segment = seconds_per_segment
        self._buffer: list[bytes] = []
        self._segments: list[dict[str, Any]] = []
        self._opened_at = trio.current_time()

    async def write(self, response: InvocationResponse) -> None:
        self._buffer.append(response_line(response))
        full = len(self._buffer) >= self.records_per_segment
        if full or trio.current_time() - self._opened_at >= self.seconds_per_segment:
            await self._flush(complete=False)

    async def close(self) -> None:
        with trio.CancelScope(shield=True):
            await self._flush(complete=True)

    async def _flush(self, complete: bool) -> None:
        if self._buffer:
            name = f"segment-{len(self._segments):05d}.jsonl"
            data = b"".join(self._buffer)
            self._segments.append({"name": name, "records": len(self._buffer)})
            self._buffer = []
            await run_io(self._fs, self._put, name, data)
        self._opened_at = trio.current_time()
        manifest = {"segments": self._segments, "complete": complete}
        await run_io(
            self._fs, write_json, self._fs, posixpath.join(self._folder, MANIFEST_FILE), manifest
        )

    def _put(self, name: str, data: bytes) -> None:
        with open_atomic(self._fs, posixpath.join(self._folder, name)) as f:
            f.write(data)


def open_sink(url: str) -> ResponseSink:
    """The right sink for a run folder: appending for local paths, segments elsewhere."""
    fs, folder = resolve(url)
    fs.makedirs(folder, exist_ok=True)
    if isinstance(fs, LocalFileSystem):
        return LocalJsonlSink(fs, folder)
    return SegmentedSink(fs, folder)
