"""OpenAI wire formats: the bytes of each API's streamed events and JSON bodies.

One renderer per request. Its `chunk` is the hot path: chunks with the same
token count are byte-identical in chat and completions streams, so each is
serialized once per request; Responses API deltas differ only in their
sequence number and are filled into a prebuilt template.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from ._model import Plan, PlannedChunk, ReasoningStyle
from ._requests import Api, ApiError

__all__ = ["CONTENT_WORD", "REASONING_WORD", "Renderer", "renderer"]

CONTENT_WORD = "tok "  # one output token
REASONING_WORD = "think "  # one reasoning token
_DONE = b"data: [DONE]\n\n"


class Renderer(Protocol):
    """The bytes of one response, streamed or whole."""

    def head(self) -> bytes:
        """Events sent with the response headers, before any token."""

    def chunk(self, chunk: PlannedChunk) -> bytes:
        """The events that carry one planned chunk (and any transition before it)."""

    def tail(self) -> bytes:
        """The events that end the stream."""

    def body(self) -> bytes:
        """The whole response as one JSON document (``stream: false``)."""

    def stream_error(self, error: ApiError) -> bytes:
        """The events that end a stream with `error` (a fault mid-stream)."""


def _error_chunk(error: ApiError) -> bytes:
    """An error mid-stream as OpenAI-compatible servers send it: a ``data`` event
    whose object has an ``error`` (the stream then ends without ``[DONE]``)."""
    return b"data: " + error.body() + b"\n\n"


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _finish_reason(plan: Plan) -> str:
    return "length" if plan.length_limited else "stop"


def _chat_usage(plan: Plan) -> dict[str, Any]:
    """Chat and completions usage; ``prompt_tokens_details`` is null without a prefix
    cache (as vLLM's without prompt token details)."""
    details = None
    if plan.cached_tokens is not None:
        details = {"cached_tokens": plan.cached_tokens, "audio_tokens": 0}
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": details,
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class _ChatRenderer:
    __slots__ = ("_base", "_cache", "_include_usage", "_plan", "_started")

    def __init__(self, plan: Plan, ident: str, model: str, created: int, include_usage: bool):
        self._plan = plan
        self._include_usage = include_usage
        self._base: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        if include_usage:
            self._base["usage"] = None
        self._cache: dict[tuple[int, bool], bytes] = {}
        self._started = False

    def _event(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**self._base, "choices": [choice]})

    def head(self) -> bytes:
        return b""

    def chunk(self, chunk: PlannedChunk) -> bytes:
        key = (chunk.tokens, chunk.reasoning)
        data = self._cache.get(key)
        if data is None:
            if chunk.reasoning:
                data = self._event({"reasoning_content": REASONING_WORD * chunk.tokens})
            else:
                data = self._event({"content": CONTENT_WORD * chunk.tokens})
            self._cache[key] = data
        if not self._started:
            self._started = True
            return self._event({"role": "assistant", "content": ""}) + data
        return data

    def tail(self) -> bytes:
        data = self._event({}, _finish_reason(self._plan))
        if self._include_usage:
            data += _sse({**self._base, "choices": [], "usage": _chat_usage(self._plan)})
        return data + _DONE

    def body(self) -> bytes:
        plan = self._plan
        message: dict[str, Any] = {
            "role": "assistant",
            "content": CONTENT_WORD * plan.content_tokens,
            "refusal": None,
        }
        if plan.reasoning_tokens:
            message["reasoning_content"] = REASONING_WORD * plan.reasoning_tokens
        return orjson.dumps(
            {
                **self._base,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": _finish_reason(plan),
                    }
                ],
                "usage": _chat_usage(plan),
            }
        )

    def stream_error(self, error: ApiError) -> bytes:
        return _error_chunk(error)


class _CompletionRenderer:
    __slots__ = ("_base", "_cache", "_include_usage", "_plan")

    def __init__(self, plan: Plan, ident: str, model: str, created: int, include_usage: bool):
        self._plan = plan
        self._include_usage = include_usage
        self._base: dict[str, Any] = {
            "id": ident,
            "object": "text_completion",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        if include_usage:
            self._base["usage"] = None
        self._cache: dict[int, bytes] = {}

    def _choice(self, text: str, finish_reason: str | None) -> dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}

    def head(self) -> bytes:
        return b""

    def chunk(self, chunk: PlannedChunk) -> bytes:
        data = self._cache.get(chunk.tokens)
        if data is None:
            choice = self._choice(CONTENT_WORD * chunk.tokens, None)
            data = self._cache[chunk.tokens] = _sse({**self._base, "choices": [choice]})
        return data

    def tail(self) -> bytes:
        finish = self._choice("", _finish_reason(self._plan))
        data = _sse({**self._base, "choices": [finish]})
        if self._include_usage:
            data += _sse({**self._base, "choices": [], "usage": _chat_usage(self._plan)})
        return data + _DONE

    def body(self) -> bytes:
        plan = self._plan
        choice = self._choice(CONTENT_WORD * plan.content_tokens, _finish_reason(plan))
        return orjson.dumps({**self._base, "choices": [choice], "usage": _chat_usage(plan)})

    def stream_error(self, error: ApiError) -> bytes:
        return _error_chunk(error)


def _typed_event(kind: bytes, sequence_number: int, fields: bytes) -> bytes:
    """One Responses API event; `fields` is a serialized object (``{...}``)."""
    return b'event: %s\ndata: {"type":"%s","sequence_number":%d,%s\n\n' % (
        kind,
        kind,
        sequence_number,
        fields[1:],
    )


class _ResponsesRenderer:
    """Responses API: typed events, one reasoning item then one message item."""

    __slots__ = (
        "_created",
        "_ident",
        "_message_id",
        "_model",
        "_plan",
        "_reasoning_done",
        "_reasoning_id",
        "_reasoning_started",
        "_seq",
        "_style",
        "_templates",
        "_text_started",
    )

    def __init__(self, plan: Plan, ident: str, model: str, created: int, style: ReasoningStyle):
        self._plan = plan
        self._ident = ident
        self._model = model
        self._created = created
        self._style = style
        self._reasoning_id = "rs_" + ident[5:]
        self._message_id = "msg_" + ident[5:]
        self._seq = 0
        self._reasoning_started = False
        self._reasoning_done = plan.reasoning_tokens == 0
        self._text_started = False
        self._templates: dict[tuple[int, bool], tuple[bytes, bytes]] = {}

    @property
    def _message_index(self) -> int:
        return 1 if self._plan.reasoning_tokens else 0

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = _typed_event(kind.encode(), self._seq, orjson.dumps(fields))
        self._seq += 1
        return data

    # --- items and the response object

    def _reasoning_item(self, done: bool) -> dict[str, Any]:
        text = REASONING_WORD * self._plan.reasoning_tokens if done else None
        item: dict[str, Any] = {"id": self._reasoning_id, "type": "reasoning", "summary": []}
        if self._style == "summary":
            if text is not None:
                item["summary"] = [{"type": "summary_text", "text": text}]
        else:
            item["content"] = [{"type": "reasoning_text", "text": text}] if text else []
        return item

    def _text_part(self, done: bool) -> dict[str, Any]:
        text = CONTENT_WORD * self._plan.content_tokens if done else ""
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _message_item(self, done: bool) -> dict[str, Any]:
        return {
            "id": self._message_id,
            "type": "message",
            "status": "completed" if done else "in_progress",
            "role": "assistant",
            "content": [self._text_part(True)] if done else [],
        }

    def _usage(self) -> dict[str, Any]:
        plan = self._plan
        return {
            "input_tokens": plan.input_tokens,
            # the API always reports it: 0 without a prefix cache
            "input_tokens_details": {"cached_tokens": plan.cached_tokens or 0},
            "output_tokens": plan.output_tokens,
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": plan.input_tokens + plan.output_tokens,
        }

    def _response(self, done: bool) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if done:
            if self._plan.reasoning_tokens:
                output.append(self._reasoning_item(True))
            if self._plan.content_tokens:
                output.append(self._message_item(True))
        return {
            "id": self._ident,
            "object": "response",
            "created_at": self._created,
            "status": "completed" if done else "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": self._plan.output_tokens if self._plan.length_limited else None,
            "model": self._model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": self._usage() if done else None,
            "metadata": {},
        }

    # --- item transitions

    def _open_reasoning(self) -> bytes:
        self._reasoning_started = True
        index = 0
        data = self._event(
            "response.output_item.added", output_index=index, item=self._reasoning_item(False)
        )
        if self._style == "summary":
            return data + self._event(
                "response.reasoning_summary_part.added",
                item_id=self._reasoning_id,
                output_index=index,
                summary_index=0,
                part={"type": "summary_text", "text": ""},
            )
        return data + self._event(
            "response.content_part.added",
            item_id=self._reasoning_id,
            output_index=index,
            content_index=0,
            part={"type": "reasoning_text", "text": ""},
        )

    def _close_reasoning(self) -> bytes:
        self._reasoning_done = True
        text = REASONING_WORD * self._plan.reasoning_tokens
        ids: dict[str, Any] = {"item_id": self._reasoning_id, "output_index": 0}
        if self._style == "summary":
            data = self._event(
                "response.reasoning_summary_text.done", **ids, summary_index=0, text=text
            )
            data += self._event(
                "response.reasoning_summary_part.done",
                **ids,
                summary_index=0,
                part={"type": "summary_text", "text": text},
            )
        else:
            data = self._event("response.reasoning_text.done", **ids, content_index=0, text=text)
            data += self._event(
                "response.content_part.done",
                **ids,
                content_index=0,
                part={"type": "reasoning_text", "text": text},
            )
        return data + self._event(
            "response.output_item.done", output_index=0, item=self._reasoning_item(True)
        )

    def _open_text(self) -> bytes:
        self._text_started = True
        index = self._message_index
        data = self._event(
            "response.output_item.added", output_index=index, item=self._message_item(False)
        )
        return data + self._event(
            "response.content_part.added",
            item_id=self._message_id,
            output_index=index,
            content_index=0,
            part=self._text_part(False),
        )

    def _close_text(self) -> bytes:
        ids = {"item_id": self._message_id, "output_index": self._message_index}
        text = CONTENT_WORD * self._plan.content_tokens
        data = self._event(
            "response.output_text.done", **ids, content_index=0, text=text, logprobs=[]
        )
        data += self._event(
            "response.content_part.done", **ids, content_index=0, part=self._text_part(True)
        )
        return data + self._event(
            "response.output_item.done",
            output_index=self._message_index,
            item=self._message_item(True),
        )

    def _template(self, chunk: PlannedChunk) -> tuple[bytes, bytes]:
        if chunk.reasoning:
            fields: dict[str, Any] = {"item_id": self._reasoning_id, "output_index": 0}
            if self._style == "summary":
                kind, fields["summary_index"] = "response.reasoning_summary_text.delta", 0
            else:
                kind, fields["content_index"] = "response.reasoning_text.delta", 0
            fields["delta"] = REASONING_WORD * chunk.tokens
        else:
            kind = "response.output_text.delta"
            fields = {
                "item_id": self._message_id,
                "output_index": self._message_index,
                "content_index": 0,
                "delta": CONTENT_WORD * chunk.tokens,
                "logprobs": [],
            }
        head = b'event: %s\ndata: {"type":"%s","sequence_number":' % (kind.encode(), kind.encode())
        return head, b"," + orjson.dumps(fields)[1:] + b"\n\n"

    # --- the renderer protocol

    def head(self) -> bytes:
        data = self._event("response.created", response=self._response(False))
        return data + self._event("response.in_progress", response=self._response(False))

    def chunk(self, chunk: PlannedChunk) -> bytes:
        data = b""
        if chunk.reasoning:
            if not self._reasoning_started:
                data = self._open_reasoning()
        else:
            if not self._reasoning_done:
                data = self._close_reasoning()
            if not self._text_started:
                data += self._open_text()
        key = (chunk.tokens, chunk.reasoning)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._template(chunk)
        data += b"%s%d%s" % (template[0], self._seq, template[1])
        self._seq += 1
        return data

    def tail(self) -> bytes:
        data = b""
        if not self._reasoning_done:
            data = self._close_reasoning()
        if self._text_started:
            data += self._close_text()
        return data + self._event("response.completed", response=self._response(True))

    def body(self) -> bytes:
        return orjson.dumps(self._response(True))

    def stream_error(self, error: ApiError) -> bytes:
        return self._event("error", code=error.code, message=error.message, param=error.param)


def renderer(
    api: Api,
    plan: Plan,
    *,
    ident: str,
    model: str,
    created: int,
    include_usage: bool = False,
    reasoning_style: ReasoningStyle = "summary",
) -> Renderer:
    """The renderer for one request to `api`; `ident` is its id (``resp_...`` for
    the Responses API)."""
    if api is Api.CHAT:
        return _ChatRenderer(plan, ident, model, created, include_usage)
    if api is Api.COMPLETIONS:
        return _CompletionRenderer(plan, ident, model, created, include_usage)
    return _ResponsesRenderer(plan, ident, model, created, reasoning_style)
