"""`PathReader`: reads a model's JSON (streamed chunks or a whole answer) by its `ResponsePaths`.

The paths are compiled when the reader is made, before any request; reading
a chunk is then a handful of dict lookups and, when the chunk carried output,
one `StreamRecorder.chunk`. The InvokeModel and SageMaker stream states and
body parsers all read through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmeter_trio.endpoints import ChunkKind, ErrorClass, StreamRecorder, classify_status

from ._answer import Answer
from ._errors import MAX_ERROR_CHARS, known_error_class
from ._formats import ModelFormat, ResponsePaths
from ._paths import JsonPath
from ._stream import EventStreamState

__all__ = ["PathReader", "PathStreamState", "parse_model_body"]

_CONTENT = ChunkKind.CONTENT
_REASONING = ChunkKind.REASONING
_TOOL = ChunkKind.TOOL
_METRICS = "amazon-bedrock-invocationMetrics"


def _path(expression: str | None) -> JsonPath | None:
    return None if expression is None else JsonPath(expression)


def _text(value: Any) -> str | None:
    """A text value; a list of strings (a projection's result) is joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return None


def _chars(value: Any) -> int:
    """Characters of tool-call output: a string's length, else its JSON's."""
    if isinstance(value, str):
        return len(value)
    if not value:
        return 0
    return len(orjson.dumps(value))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _model_error(error: Any) -> tuple[ErrorClass, str]:
    """The class and message of an error object a model sent in its output."""
    if isinstance(error, Mapping):
        kind = error.get("type") or error.get("code") or error.get("error_type")
        message = error.get("message") or orjson.dumps(error, default=str).decode()
    else:
        kind, message = None, str(error)
    error_class = ErrorClass.SERVER
    status = error.get("code") if isinstance(error, Mapping) else None
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status < 600:
        error_class = classify_status(status)  # an HTTP-like code (vLLM's error chunks)
    elif isinstance(kind, str):
        error_class = known_error_class(kind) or error_class
        if "rate_limit" in kind or "overloaded" in kind:
            error_class = ErrorClass.THROTTLED
    text = f"{kind}: {message}" if kind else f"model error: {message}"
    return error_class, text[:MAX_ERROR_CHARS]


class PathReader:
    """Applies one `ResponsePaths` to JSON objects, into an `Answer`."""

    __slots__ = (
        "_counts",
        "_error",
        "_id",
        "_output_tokens",
        "_reasoning",
        "_running",
        "_stop_reason",
        "_text",
        "_tokens_per_chunk",
        "_tool",
        "paths",
    )

    def __init__(self, paths: ResponsePaths) -> None:
        self.paths = paths
        self._text = _path(paths.text)
        self._reasoning = _path(paths.reasoning)
        self._tool = _path(paths.tool)
        self._output_tokens = _path(paths.output_tokens)
        counts = {
            "input_tokens": paths.input_tokens,
            "output_tokens": paths.output_tokens,
            "cached_input_tokens": paths.cached_input_tokens,
            "cache_write_tokens": paths.cache_write_input_tokens,
            "reasoning_tokens": paths.reasoning_tokens,
        }
        # (path, the `Answer` count it reads) of each count the paths find
        self._counts = tuple(
            (JsonPath(path), name) for name, path in counts.items() if path is not None
        )
        self._stop_reason = _path(paths.stop_reason)
        self._id = _path(paths.id)
        self._error = _path(paths.error)
        self._running = paths.running_output_tokens and self._output_tokens is not None
        self._tokens_per_chunk = paths.tokens_per_chunk

    def read_chunk(self, state: EventStreamState, obj: Any) -> None:
        """Read one streamed chunk: record its output, note usage and the stop reason."""
        if self._error is not None and self._failed(state, obj):
            return
        tokens = self._tokens_per_chunk
        if self._running:
            assert self._output_tokens is not None
            total = _count(self._output_tokens.search(obj))
            if total is not None:
                tokens = total - state.last_output_total
                state.last_output_total = total
        record = state.recorder.chunk
        if self._text is not None:
            text = _text(self._text.search(obj))
            if text:
                state.text.append(text)
                record(len(text), _CONTENT, tokens)
                tokens = None if tokens is None else 0
        if self._reasoning is not None:
            reasoning = _text(self._reasoning.search(obj))
            if reasoning:
                record(len(reasoning), _REASONING, tokens)
                tokens = None if tokens is None else 0
        if self._tool is not None:
            chars = _chars(self._tool.search(obj))
            if chars:
                record(chars, _TOOL, tokens)
        self._read_usage(state, obj)

    def read_body(self, answer: Answer, obj: Any) -> None:
        """Read a whole answer."""
        if self._error is not None and self._failed(answer, obj):
            return
        if self._text is not None:
            text = _text(self._text.search(obj))
            if text:
                answer.text.append(text)
        self._read_usage(answer, obj)

    def _failed(self, answer: Answer, obj: Any) -> bool:
        """Whether `obj` is an error the model sent (noted on `answer`)."""
        assert self._error is not None
        error = self._error.search(obj)
        if error:
            answer.fail(*_model_error(error))
        return bool(error)

    def _read_usage(self, answer: Answer, obj: Any) -> None:
        if self._stop_reason is not None:
            reason = self._stop_reason.search(obj)
            if reason and isinstance(reason, str):
                answer.stop_reason = reason
                answer.finished = True
        for path, name in self._counts:
            count = _count(path.search(obj))
            if count is not None:
                setattr(answer, name, count)
                if name == "input_tokens":
                    answer.input_excludes_cache = self.paths.input_excludes_cache
        if self._id is not None and answer.response_id is None:
            ident = self._id.search(obj)
            if isinstance(ident, str):
                answer.response_id = ident
        metrics = obj.get(_METRICS) if isinstance(obj, dict) else None
        if isinstance(metrics, dict):  # Bedrock's own count (cache apart), in the last chunk
            inputs = _count(metrics.get("inputTokenCount"))
            outputs = _count(metrics.get("outputTokenCount"))
            cached = _count(metrics.get("cacheReadInputTokenCount"))
            written = _count(metrics.get("cacheWriteInputTokenCount"))
            if inputs is not None:
                answer.input_tokens = inputs
                answer.input_excludes_cache = True
            if outputs is not None:
                answer.output_tokens = outputs
            if cached is not None:
                answer.cached_input_tokens = cached
            if written is not None:
                answer.cache_write_tokens = written
            answer.finished = True


class PathStreamState(EventStreamState):
    """A stream whose chunks are a model's own JSON, read with a `PathReader`.

    Make the reader once (``PathReader(model_format.stream)``), before the
    run, and hand it to each request's state.
    """

    __slots__ = ("_reader",)

    def __init__(
        self, recorder: StreamRecorder, reader: PathReader, *, max_response_chars: int | None = None
    ) -> None:
        super().__init__(recorder, max_response_chars=max_response_chars)
        self._reader = reader


def parse_model_body(body: bytes, reader: PathReader | ModelFormat) -> Answer:
    """A whole answer in a model's own JSON (InvokeModel, InvokeEndpoint), read with
    its format's body paths (give a `PathReader` made once to save compiling them)."""
    if isinstance(reader, ModelFormat):
        reader = PathReader(reader.body)
    answer = Answer()
    obj = answer.load_body(body)
    if answer.error_class is None:
        reader.read_body(answer, obj)
        answer.finished = True
    return answer
