"""Reading LiteLLM's answers into records, in the worker thread, as the chunks arrive.

LiteLLM hands back OpenAI-shaped objects whatever the provider: a stream of
``ModelResponseStream`` chunks (``choices[i].delta`` with ``content``,
``reasoning_content``, ``tool_calls``; a ``finish_reason``; ``usage`` on the
last chunk when ``stream_options.include_usage`` asked for it), or one
``ModelResponse``. Attributes are read with `getattr`, so a provider's missing
field is None, never an error.

Time to last token is the arrival of the chunk that finished the answer (every
choice that streamed has its ``finish_reason``), not the end of LiteLLM's
iterator: after the provider's stream ends, LiteLLM assembles the whole answer,
its usage and cost (milliseconds of work), and only then yields its usage chunk
and stops; that is the SDK's time, not the endpoint's.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

from llmeter_trio import InvocationResponse, StreamRecorder
from llmeter_trio.endpoints import ChunkKind, ErrorClass, TokenCountSource

from ._errors import describe_sdk_error, sdk_error_class

__all__ = ["Abandoned", "AbandonFlag", "read_answer", "read_stream"]

_CONTENT = ChunkKind.CONTENT
_REASONING = ChunkKind.REASONING
_TOOL = ChunkKind.TOOL


class Abandoned(Exception):
    """The request's task stopped waiting (the run's deadline, Ctrl-C): drop the answer."""


class AbandonFlag:
    """Set by the trio task that stops waiting for a worker thread; checked by the thread.

    The thread records a chunk only while holding the lock and only if the flag
    is not set, so once `abandon` returns, the record the engine keeps for the
    request (its partial timeline) no longer changes.
    """

    __slots__ = ("abandoned", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True


def _tool_chars(calls: Any) -> int:
    """Characters of tool-call names and arguments in a delta's ``tool_calls``."""
    chars = 0
    for call in calls if isinstance(calls, list) else (calls,):
        function = getattr(call, "function", None)
        name = getattr(function, "name", None)
        arguments = getattr(function, "arguments", None)
        if isinstance(name, str):
            chars += len(name)
        if isinstance(arguments, str):
            chars += len(arguments)
    return chars


def apply_usage(record: InvocationResponse, usage: Any) -> None:
    """Copy LiteLLM's ``Usage`` (OpenAI's names) into `record`.

    LiteLLM passes on the provider's usage report; for a provider that sends
    none it counts the tokens itself, and says nothing about which it did.
    """
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if isinstance(prompt, int):
        record.num_tokens_input = prompt
        record.num_tokens_input_source = TokenCountSource.SERVER
    if isinstance(completion, int):
        record.num_tokens_output = completion
        record.num_tokens_output_source = TokenCountSource.SERVER
    cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
    if isinstance(cached, int):
        record.num_tokens_input_cached = cached
    reasoning = getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None)
    if isinstance(reasoning, int) and reasoning:
        record.num_tokens_output_reasoning = reasoning


class _Text:
    """The answer's text, kept up to `room` characters."""

    __slots__ = ("dropped", "parts", "room")

    def __init__(self, max_chars: int | None) -> None:
        self.parts: list[str] = []
        self.room = sys.maxsize if max_chars is None else max_chars
        self.dropped = 0

    def add(self, text: str) -> None:
        room = self.room
        if len(text) <= room:
            self.parts.append(text)
            self.room = room - len(text)
            return
        if room:
            self.parts.append(text[:room])
            self.room = 0
        self.dropped += len(text) - room

    def record(self, response_id: str | None) -> InvocationResponse:
        return InvocationResponse(
            response_text="".join(self.parts), id=response_id, truncated_chars=self.dropped or None
        )


def read_stream(
    stream: Iterable[Any], recorder: StreamRecorder, flag: AbandonFlag, max_chars: int | None
) -> InvocationResponse:
    """Read a ``CustomStreamWrapper`` to its end, one `recorder.chunk` per piece of output.

    Runs in the worker thread: `recorder` reads the run's clock directly (see
    `StreamRecorder`), so each timestamp is taken as the chunk comes out of the
    SDK. Raises `Abandoned` once `flag` is set.
    """
    text = _Text(max_chars)
    response_id: str | None = None
    open_choices: set[int] = set()
    finished_choices: set[int] = set()
    usage: Any = None
    record: InvocationResponse | None = None  # made when the answer's last chunk arrives
    note = recorder.chunk
    lock = flag.lock
    try:
        for chunk in stream:
            if flag.abandoned:
                raise Abandoned
            if response_id is None:
                response_id = getattr(chunk, "id", None)
            usage = getattr(chunk, "usage", None) or usage
            for choice in getattr(chunk, "choices", None) or ():
                index = getattr(choice, "index", 0)
                open_choices.add(index)
                if getattr(choice, "finish_reason", None):
                    finished_choices.add(index)
                delta = getattr(choice, "delta", None)
                if delta is None:
                    continue
                content = getattr(delta, "content", None)
                refusal = getattr(delta, "refusal", None)
                reasoning = getattr(delta, "reasoning_content", None)
                calls = getattr(delta, "tool_calls", None) or getattr(delta, "function_call", None)
                with lock:
                    if flag.abandoned:
                        raise Abandoned
                    if content and isinstance(content, str):
                        note(len(content), _CONTENT)
                    if refusal and isinstance(refusal, str):
                        note(len(refusal), _CONTENT)
                    if reasoning and isinstance(reasoning, str):
                        note(len(reasoning), _REASONING)
                    if calls:
                        chars = _tool_chars(calls)
                        if chars:
                            note(chars, _TOOL)
                if content and isinstance(content, str):
                    text.add(content)
                if refusal and isinstance(refusal, str):
                    text.add(refusal)
            if record is None and finished_choices and finished_choices >= open_choices:
                with lock:
                    if flag.abandoned:
                        raise Abandoned
                    record = recorder.finish(text.record(response_id))
    except Abandoned:
        raise
    except Exception as exc:  # the SDK's error, raised mid-stream
        if record is None:
            record = recorder.finish(text.record(response_id))
        record.error = describe_sdk_error(exc)
        record.error_class, record.status_code = sdk_error_class(exc)
        return record
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()
    if record is None:
        record = recorder.finish(text.record(response_id))
        record.error_class = ErrorClass.PROTOCOL
        record.error = "the stream ended before the answer was complete (no finish_reason came)"
    if usage is not None:
        apply_usage(record, usage)
        record.derive_timings()  # time per output token, now that the count is known
    return record


def read_answer(answer: Any, recorder: StreamRecorder, max_chars: int | None) -> InvocationResponse:
    """The record of a whole (non-streamed) ``ModelResponse``; its end is stamped now."""
    text = _Text(max_chars)
    for choice in getattr(answer, "choices", None) or ():
        message = getattr(choice, "message", None)
        for key in ("content", "refusal"):
            value = getattr(message, key, None)
            if isinstance(value, str):
                text.add(value)
    record = recorder.finish(text.record(getattr(answer, "id", None)))
    usage = getattr(answer, "usage", None)
    if usage is not None:
        apply_usage(record, usage)
        record.derive_timings()
    return record
