"""SageMaker runtime: ``/endpoints/{name}/invocations`` and
``invocations-response-stream``, with the bodies of the containers that serve LLMs.

A TGI body (``{"inputs": ..., "parameters": {"max_new_tokens": ...}}``) gets
``[{"generated_text": ...}]``, or, streamed, TGI's ``data:{"token": {...}}``
events (one per token; the last carries ``generated_text`` and ``details``).
An OpenAI chat body (``{"messages": ...}``, as LMI and vLLM containers take)
gets a chat completion or its ``data:`` chunks. A stream's bytes travel in
``PayloadPart`` event-stream messages, one per write. Throttling is HTTP 400
``ThrottlingException`` and a container's 5xx is a 424 ``ModelError``, as
SageMaker reports them; faults mid-stream are a ``ModelStreamError``.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

from ._aws import check_signed, error_reply, event_stream_headers, is_aws_type, json_headers
from ._dialect import Headers, Reply
from ._eventstream import event_message, exception_message
from ._formats import CONTENT_WORD, Renderer, renderer
from ._model import Plan, PlannedChunk, SimConfig
from ._requests import Api, ApiError, SimRequest, parse_request, positive_int, read_object

__all__ = ["SageMakerDialect"]

SERVICE = "sagemaker"


def _error(error: ApiError) -> Reply:
    if is_aws_type(error.type):
        return error_reply(error.status, error.type, {"message": error.message})
    if error.status == 429:
        return error_reply(400, "ThrottlingException", {"message": error.message})
    if error.status == 503:
        return error_reply(503, "ServiceUnavailable", {"message": error.message})
    if error.status >= 500:
        body = {
            "ErrorCode": "SERVER_ERROR_FROM_MODEL",
            "Message": f"Received server error ({error.status}) from primary with message "
            f'"{error.message}".',
            "OriginalMessage": error.message,
            "OriginalStatusCode": error.status,
        }
        return error_reply(424, "ModelError", body)
    return error_reply(error.status, "ValidationError", {"message": error.message})


class _TgiRenderer:
    """Text Generation Inference's ``generate`` and ``generate_stream`` answers."""

    __slots__ = ("_details", "_generated", "_plan")

    def __init__(self, plan: Plan, details: bool) -> None:
        self._plan = plan
        self._details = details
        self._generated = 0

    def _finish(self) -> dict[str, Any]:
        plan = self._plan
        return {
            "finish_reason": "length" if plan.length_limited else "eos_token",
            "generated_tokens": plan.output_tokens,
            "input_length": plan.input_tokens,
            "seed": None,
        }

    def head(self) -> bytes:
        return b""

    def chunk(self, chunk: PlannedChunk) -> bytes:
        events = []
        for _ in range(chunk.tokens):
            index = self._generated
            self._generated += 1
            last = self._generated == self._plan.output_tokens
            event = {
                "index": index,
                "token": {"id": index, "text": CONTENT_WORD, "logprob": 0.0, "special": False},
                "generated_text": CONTENT_WORD * self._generated if last else None,
                "details": self._finish() if last else None,
            }
            events.append(b"data:" + orjson.dumps(event) + b"\n\n")
        return b"".join(events)

    def tail(self) -> bytes:
        return b""

    def body(self) -> bytes:
        answer: dict[str, Any] = {"generated_text": CONTENT_WORD * self._plan.output_tokens}
        if self._details:
            answer["details"] = self._finish()
        return orjson.dumps([answer])


def _payload_part(data: bytes) -> bytes:
    return event_message("PayloadPart", data, "application/octet-stream") if data else b""


class _PayloadParts:
    """A streamed answer's bytes in ``PayloadPart`` messages."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Renderer | _TgiRenderer) -> None:
        self._inner = inner

    def head(self) -> bytes:
        return _payload_part(self._inner.head())

    def chunk(self, chunk: PlannedChunk) -> bytes:
        return _payload_part(self._inner.chunk(chunk))

    def tail(self) -> bytes:
        return _payload_part(self._inner.tail())

    def body(self) -> bytes:
        return self._inner.body()

    def stream_error(self, error: ApiError) -> bytes:
        kind = "ThrottlingException" if error.status == 429 else "ModelStreamError"
        payload = {"Message": error.message, "ErrorCode": kind}
        return exception_message("ModelStreamError", orjson.dumps(payload))


@attrs.frozen
class SageMakerDialect:
    """InvokeEndpoint (``stream=False``) or InvokeEndpointWithResponseStream."""

    stream: bool

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        check_signed(headers, SERVICE)
        body = read_object(raw)
        if "messages" in body:
            chat = parse_request(Api.CHAT, raw)
            return attrs.evolve(chat, api=Api.SAGEMAKER, stream=self.stream, body_format="chat")
        inputs = body.get("inputs")
        if not isinstance(inputs, str):
            raise ApiError(400, "Expected a JSON body with 'inputs' (TGI) or 'messages' (chat).")
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ApiError(400, "'parameters' must be an object")
        return SimRequest.capped(
            Api.SAGEMAKER,
            target,
            self.stream,
            len(inputs.split()),
            positive_int(parameters, "max_new_tokens"),
            reasoning=False,
            body_format="tgi",
            details=parameters.get("details") is True,
            prompt=(inputs,),
        )

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        inner: Renderer | _TgiRenderer
        if request.body_format == "chat":
            inner = renderer(
                Api.CHAT,
                plan,
                ident="chatcmpl-" + ident,
                model=request.model or config.model,
                created=created,
                include_usage=request.include_usage,
            )
        else:
            inner = _TgiRenderer(plan, request.details)
        return _PayloadParts(inner)

    def stream_headers(self, request: SimRequest) -> Headers:
        kind = b"application/json" if request.body_format == "chat" else b"text/event-stream"
        return event_stream_headers((b"x-amzn-sagemaker-content-type", kind))

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        return json_headers((b"x-amzn-invoked-production-variant", b"AllTraffic"))

    def error(self, error: ApiError) -> Reply:
        return _error(error)
