"""Bedrock runtime: ``/model/{modelId}/converse``, ``converse-stream``, ``invoke``
and ``invoke-with-response-stream``.

Streams are AWS event streams. ConverseStream sends ``messageStart``,
``contentBlockDelta`` (``reasoningContent`` then ``text``), ``contentBlockStop``,
``messageStop`` and ``metadata`` (usage, ``latencyMs``). InvokeModel's body is
the model family's own, chosen from the model id: Anthropic's Messages API
(``anthropic.*``; its stream events inside ``chunk`` messages, the last with
``amazon-bedrock-invocationMetrics``) or Meta Llama's text generation
(``meta.*``). Faults mid-stream are ``exception`` messages
(``throttlingException``, ``modelStreamErrorException``, ...).

Converse content blocks are checked as Bedrock checks them (a ``text`` is a
string; ``image``, ``document``, ``video`` and ``audio`` blocks have a
``format`` and base64 ``source.bytes``, a document a ``name``): a malformed
payload gets a ValidationException, not an answer. The input tokens are the
words of the text; media blocks add none.
"""

from __future__ import annotations

import base64
from typing import Any

import attrs
import orjson

from ._anthropic_format import AnthropicEvents, Event, read_messages, stop_reason
from ._aws import check_signed, error_reply, event_stream_headers, is_aws_type, json_headers
from ._dialect import Headers, Reply
from ._eventstream import event_message, exception_message
from ._formats import CONTENT_WORD, REASONING_WORD, Renderer
from ._model import Plan, PlannedChunk, SimConfig
from ._requests import Api, ApiError, Prompt, SimRequest, positive_int, read_object

__all__ = ["ConverseDialect", "InvokeDialect"]

SERVICE = "bedrock"
_ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}
_STREAM_EXCEPTIONS = {
    429: "throttlingException",
    500: "modelStreamErrorException",
    503: "serviceUnavailableException",
    529: "serviceUnavailableException",
}
_FAMILIES = ("anthropic", "meta")


def _error(error: ApiError) -> Reply:
    kind = error.type if is_aws_type(error.type) else None
    message = error.message
    if kind is None:
        default = "InternalServerException" if error.status >= 500 else "ValidationException"
        kind = _ERROR_TYPES.get(error.status, default)
        if error.status == 429:
            message = "Too many requests, please wait before trying again. (simulated)"
    return error_reply(error.status, kind, {"message": message})


def _stream_exception(error: ApiError) -> bytes:
    kind = _STREAM_EXCEPTIONS.get(error.status, "internalServerException")
    return exception_message(kind, orjson.dumps({"message": error.message}))


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def invocation_metrics(plan: Plan) -> dict[str, Any]:
    """``amazon-bedrock-invocationMetrics``: token counts and planned latencies (the input
    count is the uncached tokens; with a prefix cache, the cache reads beside it)."""
    metrics: dict[str, Any] = {
        "inputTokenCount": plan.uncached_tokens,
        "outputTokenCount": plan.output_tokens,
        "invocationLatency": _milliseconds(plan.duration),
        "firstByteLatency": _milliseconds(plan.chunks[0].at),
    }
    if plan.cached_tokens is not None:
        metrics["cacheReadInputTokenCount"] = plan.cached_tokens
        metrics["cacheWriteInputTokenCount"] = 0
    return metrics


def _usage(plan: Plan) -> dict[str, int]:
    """Converse's usage: ``inputTokens`` are the uncached ones; with a prefix cache,
    ``cacheReadInputTokens`` are the cached ones (``totalTokens`` counts both)."""
    usage = {"inputTokens": plan.uncached_tokens, "outputTokens": plan.output_tokens}
    if plan.cached_tokens is not None:
        usage["cacheReadInputTokens"] = plan.cached_tokens
        usage["cacheWriteInputTokens"] = 0
    usage["totalTokens"] = plan.input_tokens + plan.output_tokens
    return usage


# --- Converse


class _ConverseRenderer:
    """Converse's answer: whole, or as ConverseStream events."""

    __slots__ = ("_cache", "_open", "_plan")

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._open = plan.reasoning_tokens > 0  # the open block: reasoning (True) or text
        self._cache: dict[tuple[int, bool], bytes] = {}

    def _index(self, reasoning: bool) -> int:
        return 0 if reasoning or not self._plan.reasoning_tokens else 1

    def _stop_block(self) -> bytes:
        index = self._index(self._open)
        data = b""
        if self._open:
            delta = {"reasoningContent": {"signature": "c2ltdWxhdGVk"}}
            data = event_message(
                "contentBlockDelta",
                orjson.dumps({"contentBlockIndex": index, "delta": delta}),
            )
        return data + event_message("contentBlockStop", orjson.dumps({"contentBlockIndex": index}))

    def head(self) -> bytes:
        return event_message("messageStart", b'{"role":"assistant"}')

    def chunk(self, chunk: PlannedChunk) -> bytes:
        data = b""
        if chunk.reasoning != self._open:
            data = self._stop_block()
            self._open = chunk.reasoning
        key = (chunk.tokens, chunk.reasoning)
        delta = self._cache.get(key)
        if delta is None:
            if chunk.reasoning:
                content: dict[str, Any] = {
                    "reasoningContent": {"text": REASONING_WORD * chunk.tokens}
                }
            else:
                content = {"text": CONTENT_WORD * chunk.tokens}
            event = {"contentBlockIndex": self._index(chunk.reasoning), "delta": content}
            delta = self._cache[key] = event_message("contentBlockDelta", orjson.dumps(event))
        return data + delta

    def tail(self) -> bytes:
        plan = self._plan
        stop = orjson.dumps({"stopReason": stop_reason(plan)})
        metadata = {"usage": _usage(plan), "metrics": {"latencyMs": _milliseconds(plan.duration)}}
        return (
            self._stop_block()
            + event_message("messageStop", stop)
            + event_message("metadata", orjson.dumps(metadata))
        )

    def body(self) -> bytes:
        plan = self._plan
        content: list[dict[str, Any]] = []
        if plan.reasoning_tokens:
            text = REASONING_WORD * plan.reasoning_tokens
            reasoning = {"reasoningText": {"text": text, "signature": "c2ltdWxhdGVk"}}
            content.append({"reasoningContent": reasoning})
        if plan.content_tokens:
            content.append({"text": CONTENT_WORD * plan.content_tokens})
        return orjson.dumps(
            {
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": stop_reason(plan),
                "usage": _usage(plan),
                "metrics": {"latencyMs": _milliseconds(plan.duration)},
            }
        )

    def stream_error(self, error: ApiError) -> bytes:
        return _stream_exception(error)


_MEDIA_BLOCKS = ("image", "document", "video", "audio")


def _media_checked(kind: str, block: Any) -> None:
    """An ``image``, ``document``, ``video`` or ``audio`` block as Converse requires it:
    a ``format``, a ``source`` with base64 ``bytes`` (or an ``s3Location``), a document's
    ``name``; else the ValidationException Bedrock answers."""
    if not isinstance(block, dict) or not isinstance(block.get("format"), str):
        raise ApiError(400, f"The {kind} block needs a format.")
    if kind == "document" and not (isinstance(block.get("name"), str) and block["name"]):
        raise ApiError(400, "The document block needs a name.")
    source = block.get("source")
    if isinstance(source, dict) and isinstance(source.get("s3Location"), dict):
        return
    data = source.get("bytes") if isinstance(source, dict) else None
    try:
        valid = isinstance(data, str) and bool(base64.b64decode(data, validate=True))
    except ValueError:
        valid = False
    if not valid:
        raise ApiError(400, f"The {kind} block's source.bytes must be non-empty base64.")


def _add_converse_content(prompt: Prompt, content: Any) -> None:
    """Add the text of a Converse message's content blocks to `prompt`, each block
    checked: a ``text`` must be a string; media blocks (`_media_checked`) add no words,
    the simulated input being the text's; other blocks (tool use, ...) pass as they are."""
    if not isinstance(content, list):
        raise ApiError(400, "A message's content must be a list of content blocks.")
    for block in content:
        if not isinstance(block, dict):
            raise ApiError(400, "Each content block must be an object.")
        if "text" in block:
            if not isinstance(block["text"], str):
                raise ApiError(400, "A text content block's text must be a string.")
            prompt.add_text(block["text"])
        for kind in _MEDIA_BLOCKS:
            if kind in block:
                _media_checked(kind, block[kind])


def _wants_reasoning(body: dict[str, Any]) -> bool:
    fields = body.get("additionalModelRequestFields")
    if not isinstance(fields, dict):
        return False
    thinking = fields.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        return True
    return isinstance(fields.get("reasoning_config"), dict)


@attrs.frozen
class _BedrockDialect:
    """What Converse and InvokeModel share: the path says whether the answer streams,
    requests are signed for ``bedrock`` (or carry an API key), errors are Bedrock's."""

    stream: bool

    @staticmethod
    def read_body(raw: bytes, headers: Headers) -> dict[str, Any]:
        """The request's JSON object, once its signature is checked."""
        check_signed(headers, SERVICE, bearer=True)
        return read_object(raw)

    def error(self, error: ApiError) -> Reply:
        return _error(error)


@attrs.frozen
class ConverseDialect(_BedrockDialect):
    """Converse (``stream=False``) or ConverseStream."""

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        body = self.read_body(raw, headers)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "The messages field is required and must not be empty.")
        prompt = Prompt()
        prompt.add(body.get("system"))
        for message in messages:
            if not isinstance(message, dict):
                raise ApiError(400, "Each message must be an object.")
            _add_converse_content(prompt, message.get("content"))
        config = body.get("inferenceConfig")
        cap = positive_int(config, "maxTokens") if isinstance(config, dict) else None
        return SimRequest.capped(
            Api.CONVERSE,
            target,
            self.stream,
            prompt.words,
            cap,
            reasoning=_wants_reasoning(body),
            prompt=tuple(prompt.texts),
        )

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        return _ConverseRenderer(plan)

    def stream_headers(self, request: SimRequest) -> Headers:
        return event_stream_headers()

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        return json_headers()


# --- InvokeModel: model families


def _chunk(data: bytes) -> bytes:
    """One ``chunk`` message carrying the model's JSON `data`."""
    return event_message("chunk", b'{"bytes":"' + base64.b64encode(data) + b'"}')


class _AnthropicChunks:
    """Anthropic's Messages API on Bedrock: its events, one per ``chunk``."""

    __slots__ = ("_events",)

    def __init__(self, events: AnthropicEvents) -> None:
        self._events = events

    @staticmethod
    def _frame(events: list[Event]) -> bytes:
        return b"".join([_chunk(data) for _, data in events])

    def head(self) -> bytes:
        return self._frame(self._events.head())

    def chunk(self, chunk: PlannedChunk) -> bytes:
        return self._frame(self._events.chunk(chunk))

    def tail(self) -> bytes:
        return self._frame(self._events.tail())

    def body(self) -> bytes:
        return self._events.message()

    def stream_error(self, error: ApiError) -> bytes:
        return _stream_exception(error)


class _LlamaRenderer:
    """Meta Llama's text generation: ``generation`` text with token counts."""

    __slots__ = ("_generated", "_plan")

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._generated = 0

    def _stop_reason(self) -> str:
        return "length" if self._plan.length_limited else "stop"

    def head(self) -> bytes:
        return b""

    def chunk(self, chunk: PlannedChunk) -> bytes:
        first = self._generated == 0
        self._generated += chunk.tokens
        data = {
            "generation": CONTENT_WORD * chunk.tokens,
            "prompt_token_count": self._plan.input_tokens if first else None,
            "generation_token_count": self._generated,
            "stop_reason": None,
        }
        return _chunk(orjson.dumps(data))

    def tail(self) -> bytes:
        data = {
            "generation": "",
            "prompt_token_count": None,
            "generation_token_count": self._plan.output_tokens,
            "stop_reason": self._stop_reason(),
            "amazon-bedrock-invocationMetrics": invocation_metrics(self._plan),
        }
        return _chunk(orjson.dumps(data))

    def body(self) -> bytes:
        plan = self._plan
        return orjson.dumps(
            {
                "generation": CONTENT_WORD * plan.output_tokens,
                "prompt_token_count": plan.input_tokens,
                "generation_token_count": plan.output_tokens,
                "stop_reason": self._stop_reason(),
            }
        )

    def stream_error(self, error: ApiError) -> bytes:
        return _stream_exception(error)


def _family(model_id: str) -> str:
    """The body format of a model id (``anthropic.claude...``, ``us.meta.llama...``, an
    ARN ending in one)."""
    name = model_id.rsplit("/", 1)[-1]
    for family in _FAMILIES:
        if name.startswith(family + ".") or f".{family}." in name:
            return family
    raise ApiError(
        400,
        f"The simulated Bedrock renders InvokeModel bodies for anthropic.* and meta.* "
        f"models, not {model_id!r}; use Converse for any model.",
    )


@attrs.frozen
class InvokeDialect(_BedrockDialect):
    """InvokeModel (``stream=False``) or InvokeModelWithResponseStream."""

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        body = self.read_body(raw, headers)
        family = _family(target)
        cap: int | None
        if family == "anthropic":
            if not isinstance(body.get("anthropic_version"), str):
                raise ApiError(400, "Malformed input request: required key [anthropic_version]")
            prompt, cap, reasoning = read_messages(body)
        else:
            text = body.get("prompt")
            if not isinstance(text, str):
                raise ApiError(400, "Malformed input request: required key [prompt]")
            prompt, reasoning = Prompt(), False
            prompt.add_text(text)
            cap = positive_int(body, "max_gen_len")
        return SimRequest.capped(
            Api.INVOKE,
            target,
            self.stream,
            prompt.words,
            cap,
            reasoning=reasoning,
            body_format=family,
            prompt=tuple(prompt.texts),
        )

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        if request.body_format == "meta":
            return _LlamaRenderer(plan)
        extra = {"amazon-bedrock-invocationMetrics": invocation_metrics(plan)}
        events = AnthropicEvents(
            plan, "msg_bdrk_" + ident, request.model or config.model, ping=False, stop_extra=extra
        )
        return _AnthropicChunks(events)

    def stream_headers(self, request: SimRequest) -> Headers:
        return event_stream_headers((b"x-amzn-bedrock-content-type", b"application/json"))

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        headers = [
            (b"x-amzn-bedrock-input-token-count", b"%d" % plan.uncached_tokens),
            (b"x-amzn-bedrock-output-token-count", b"%d" % plan.output_tokens),
            (b"x-amzn-bedrock-invocation-latency", b"%d" % _milliseconds(plan.duration)),
        ]
        if plan.cached_tokens is not None:
            headers += [
                (b"x-amzn-bedrock-cache-read-input-token-count", b"%d" % plan.cached_tokens),
                (b"x-amzn-bedrock-cache-write-input-token-count", b"0"),
            ]
        return json_headers(*headers)
