"""Bedrock's Converse API: ConverseStream's events and Converse's whole answer.

ConverseStream sends ``messageStart``, then per content block
``contentBlockStart`` (tool use only), ``contentBlockDelta``... and
``contentBlockStop``, then ``messageStop`` (the stop reason) and ``metadata``
(usage, latency). A delta carries ``text`` (CONTENT), ``reasoningContent``
``text`` (REASONING; its ``signature`` and ``redactedContent`` are not
output) or ``toolUse`` ``input`` (TOOL, as does a tool's name when its block
starts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmeter_trio.endpoints import ChunkKind, ErrorClass, StreamRecorder

from ._answer import Answer
from ._eventstream import StreamEvent
from ._stream import EventStreamState

__all__ = ["ConverseStreamState", "parse_converse_body"]

_CONTENT = ChunkKind.CONTENT
_REASONING = ChunkKind.REASONING
_TOOL = ChunkKind.TOOL
# A delta's output other than text: (its member, the member's field, the kind of output).
_INNER_OUTPUT = (("reasoningContent", "text", _REASONING), ("toolUse", "input", _TOOL))


def _read_usage(answer: Answer, usage: Any) -> None:
    """Converse's usage; its ``inputTokens`` leave out the cache reads and writes."""
    if not isinstance(usage, Mapping):
        return
    get = usage.get
    inputs, outputs, cached = get("inputTokens"), get("outputTokens"), get("cacheReadInputTokens")
    written = get("cacheWriteInputTokens")
    answer.input_excludes_cache = True
    if isinstance(inputs, int):
        answer.input_tokens = inputs
    if isinstance(outputs, int):
        answer.output_tokens = outputs
    if isinstance(cached, int):
        answer.cached_input_tokens = cached
    if isinstance(written, int):
        answer.cache_write_tokens = written


class ConverseStreamState(EventStreamState):
    """Reads ConverseStream events (see the module doc)."""

    __slots__ = ("latency_ms",)
    end_marker = "messageStop event"

    def __init__(self, recorder: StreamRecorder, *, max_response_chars: int | None = None) -> None:
        super().__init__(recorder, max_response_chars=max_response_chars)
        self.latency_ms: int | None = None  # Bedrock's own latency, from the metadata event

    def on_event(self, event: StreamEvent) -> None:
        kind = event.event_type
        if kind == "messageStart" or kind == "contentBlockStop":
            return
        try:
            obj = orjson.loads(event.payload)
        except orjson.JSONDecodeError:
            self.invalid_event(event, "is not JSON")
            return
        if not isinstance(obj, dict):
            self.invalid_event(event, "is not a JSON object")
            return
        if kind == "contentBlockDelta":
            delta = obj.get("delta")
            if not isinstance(delta, dict):
                return
            text = delta.get("text")
            if text and isinstance(text, str):
                self.text.append(text)
                self.recorder.chunk(len(text), _CONTENT)
                return
            for member, field, output in _INNER_OUTPUT:
                inner = delta.get(member)
                if isinstance(inner, dict):
                    value = inner.get(field)
                    if value and isinstance(value, str):
                        self.recorder.chunk(len(value), output)
                    return
        elif kind == "contentBlockStart":
            start = obj.get("start")
            tool = start.get("toolUse") if isinstance(start, dict) else None
            name = tool.get("name") if isinstance(tool, dict) else None
            if name and isinstance(name, str):
                self.recorder.chunk(len(name), _TOOL)
        elif kind == "messageStop":
            reason = obj.get("stopReason")
            self.stop_reason = reason if isinstance(reason, str) else None
            self.finished = True
        elif kind == "metadata":
            _read_usage(self, obj.get("usage"))
            metrics = obj.get("metrics")
            latency = metrics.get("latencyMs") if isinstance(metrics, dict) else None
            if isinstance(latency, int):
                self.latency_ms = latency


def parse_converse_body(body: bytes) -> Answer:
    """Converse's whole answer: the message's text blocks, stop reason and usage."""
    answer = Answer()
    obj = answer.load_body(body)
    if not isinstance(obj, dict):
        answer.fail(ErrorClass.PROTOCOL, f"the answer is not a JSON object: {body[:200]!r}")
        return answer
    output = obj.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    for block in content if isinstance(content, list) else ():
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, str):
            answer.text.append(text)
    reason = obj.get("stopReason")
    if isinstance(reason, str):
        answer.stop_reason = reason
        answer.finished = True
    _read_usage(answer, obj.get("usage"))
    return answer
