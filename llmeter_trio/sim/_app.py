"""`SimApp`: the simulated LLM server as a plain ASGI application.

Routes: OpenAI's ``POST /v1/chat/completions``, ``POST /v1/completions``,
``POST /v1/responses``, ``GET /v1/models``, ``GET /v1/models/{id}``;
Anthropic's ``POST /v1/messages``; Bedrock's ``POST /model/{id}/converse``,
``converse-stream``, ``invoke`` and ``invoke-with-response-stream``;
SageMaker's ``POST /endpoints/{name}/invocations`` and
``invocations-response-stream``; ``GET /health``; and ``GET /metrics``
(Prometheus text: requests running and waiting, tokens, prefix cache queries and
hits). Each API's wire format
is a `Dialect`. A request header ``x-sim-fault`` (``429``, ``500``, ``503``,
``drop``, ``stall``, ``stream-429``, ``stream-500``, ``none``) forces a fault
(or none) for that request, overriding the random draw.

Streamed responses send their headers at once; each chunk then goes out at
its planned instant (absolute deadlines, so delays never accumulate drift).
A dropped connection is an app that returns before finishing its body: the
server then closes the TCP connection without the chunked body's terminator.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import orjson
import trio

from ._anthropic_format import AnthropicDialect
from ._bedrock_format import ConverseDialect, InvokeDialect
from ._bucket import RateLimiter
from ._dialect import Dialect, OpenAIDialect, Reply
from ._formats import Renderer
from ._metrics import SimMetrics
from ._model import Fault, Plan, SimConfig, output_length, plan
from ._prefix_cache import PrefixCache
from ._requests import Api, ApiError, SimRequest
from ._sagemaker_format import SageMakerDialect

__all__ = ["SimApp"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_GENERATE: dict[str, Dialect] = {
    "/v1/chat/completions": OpenAIDialect(Api.CHAT),
    "/v1/completions": OpenAIDialect(Api.COMPLETIONS),
    "/v1/responses": OpenAIDialect(Api.RESPONSES),
    "/v1/messages": AnthropicDialect(),
}
# /{collection}/{name}/{operation}: Bedrock's models, SageMaker's endpoints
_AWS_OPERATIONS: dict[tuple[bytes, bytes], Dialect] = {
    (b"model", b"converse"): ConverseDialect(stream=False),
    (b"model", b"converse-stream"): ConverseDialect(stream=True),
    (b"model", b"invoke"): InvokeDialect(stream=False),
    (b"model", b"invoke-with-response-stream"): InvokeDialect(stream=True),
    (b"endpoints", b"invocations"): SageMakerDialect(stream=False),
    (b"endpoints", b"invocations-response-stream"): SageMakerDialect(stream=True),
}
_JSON_TYPE = (b"content-type", b"application/json")


def _aws_route(raw_path: bytes) -> tuple[Dialect, str] | None:
    """The dialect and the (URL-decoded) model or endpoint name of an AWS path."""
    parts = raw_path.split(b"/")
    if len(parts) != 4 or parts[0] or not parts[2]:
        return None
    dialect = _AWS_OPERATIONS.get((parts[1], parts[3]))
    if dialect is None:
        return None
    return dialect, unquote(parts[2].decode("latin-1"))


_FAULT_HEADER = b"x-sim-fault"
_SERVER_ERROR_MESSAGES = {
    500: "The server had an error while processing your request (simulated).",
    503: "The server is overloaded or not ready yet (simulated).",
    529: "Overloaded (simulated).",
}


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [_JSON_TYPE, (b"content-length", b"%d" % len(body)), *(headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(send: Send, error: ApiError) -> None:
    await _send_json(send, error.status, error.body(), error.headers)


async def _send_reply(send: Send, reply: Reply) -> None:
    status, headers, body = reply
    head = [*headers, (b"content-length", b"%d" % len(body))]
    if not any(name == b"content-type" for name, _ in headers):
        head.insert(0, _JSON_TYPE)
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away first."""
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _sleep_until(deadline: float) -> None:
    if deadline > trio.current_time():
        await trio.sleep_until(deadline)


async def _cancel_on_disconnect(receive: Receive, cancel_scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            cancel_scope.cancel()
            return


class SimApp:
    """A server for the OpenAI, Anthropic, Bedrock and SageMaker APIs whose
    latencies, token counts and faults are exactly those of its `SimConfig`.

    Each instance owns its seeded random generators (one for faults, one for
    jitter), its FIFO concurrency limit and its rate limit buckets
    (`rate_limiter`, None without a quota: its levels and counts are there for
    tests to read) and its prefix cache (`prefix_cache`, None unless the config
    enables it; a request is looked up and its blocks remembered when its work is
    planned, on arrival); serve one instance per server. `worker` varies the seeds
    when several processes serve one config (each worker has a cache of its own).
    """

    def __init__(self, config: SimConfig | None = None, *, worker: int = 0) -> None:
        self.config = config or SimConfig()
        self._fault_rng = random.Random(f"faults:{self.config.seed}:{worker}")
        self._latency_rng = random.Random(f"latency:{self.config.seed}:{worker}")
        limit = self.config.max_concurrency
        self._slots = trio.Semaphore(limit) if limit is not None else None
        faults = self.config.faults
        self.rate_limiter = RateLimiter.per_minute(
            faults.requests_per_minute, faults.tokens_per_minute
        )
        self._ids = itertools.count(1)
        self._id_stem = secrets.token_hex(4)
        self.prefix_cache = (
            PrefixCache(self.config.prefix_cache_block, self.config.prefix_cache_blocks)
            if self.config.prefix_cache
            else None
        )
        self.metrics = SimMetrics(self.prefix_cache)
        self._models_body = orjson.dumps(
            {"object": "list", "data": [self._model_card(self.config.model)]}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # --- routing

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        dialect = _GENERATE.get(path)
        target = ""
        if dialect is None and path.startswith(("/model/", "/endpoints/")):
            found = _aws_route(scope.get("raw_path") or path.encode())
            if found is not None:
                dialect, target = found
        if dialect is not None:
            if method != "POST":
                await _send_error(send, _method_not_allowed(method, path))
            else:
                await self._generate(dialect, target, scope, receive, send)
        elif path == "/v1/models" and method == "GET":
            await _send_json(send, 200, self._models_body)
        elif path.startswith("/v1/models/") and method == "GET":
            model = path[len("/v1/models/") :]
            if model == self.config.model:
                await _send_json(send, 200, orjson.dumps(self._model_card(model)))
            else:
                error = ApiError(
                    404,
                    f"The model '{model}' does not exist",
                    code="model_not_found",
                    param="model",
                )
                await _send_error(send, error)
        elif path == "/health" and method == "GET":
            await _send_json(send, 200, b'{"status":"ok"}')
        elif path == "/metrics" and method == "GET":
            page = self.metrics.page()
            headers = [(b"content-type", SimMetrics.content_type)]
            await _send_reply(send, (200, headers, page))
        else:
            error = ApiError(404, f"Unknown request URL: {method} {path}", code="unknown_url")
            await _send_error(send, error)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    def _model_card(model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 0, "owned_by": "llmeter-trio"}

    # --- generation

    def _fault(self, scope: Scope) -> tuple[Fault, int | None]:
        for name, value in scope["headers"]:
            if name == _FAULT_HEADER:
                try:
                    return Fault.parse(value.decode("latin-1"))
                except ValueError as exc:
                    raise ApiError(400, str(exc), param=_FAULT_HEADER.decode()) from None
        return self.config.faults.draw(self._fault_rng)

    async def _generate(
        self, dialect: Dialect, target: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        raw = await _read_body(receive)
        if raw is None:
            return
        limits: list[tuple[bytes, bytes]] = []
        try:
            request = dialect.parse(raw, scope["headers"], target)
            if self.rate_limiter is not None:
                limits = self._admit(request)
            fault, status = self._fault(scope)
        except ApiError as error:
            error.headers = [*error.headers, *limits]
            await _send_reply(send, dialect.error(error))
            return
        if fault is Fault.THROTTLED:
            await _send_reply(send, dialect.error(self._throttled(limits=limits)))
            return
        if fault is Fault.SERVER_ERROR:
            await _send_reply(send, dialect.error(_server_error(status or 500)))
            return

        cached = None if self.prefix_cache is None else self.prefix_cache.admit(request.prompt)
        timeline = plan(
            self.config,
            self._latency_rng,
            input_tokens=request.input_tokens,
            cached_tokens=cached,
            max_tokens=request.max_tokens,
            token_cap=request.token_cap,
            reasoning=request.reasoning,
            fault=fault,
        )
        out = dialect.renderer(
            request,
            timeline,
            ident=f"{self._id_stem}{next(self._ids):016x}",
            created=int(time.time()),
            config=self.config,
        )
        cut_by = None if fault is not Fault.STREAM_ERROR else self._stream_error(status)
        response = _Response(dialect, request, timeline, out, cut_by, limits)
        head = b""
        if request.stream:  # headers (and e.g. response.created) go out at once
            headers = [*dialect.stream_headers(request), *limits]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            head = out.head()
        answering = self.metrics.answering(timeline.input_tokens, timeline.output_tokens)
        if self._slots is None and timeline.duration <= 0.0:
            with answering:
                await response.send(send, head)
            return
        if request.stream:  # even empty: a server may hold the headers until a body message
            await send({"type": "http.response.body", "body": head, "more_body": True})
        # Something to wait for: stop early if the client goes away, freeing the slot.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            if self._slots is None:
                with answering:
                    await response.send(send)
            else:
                with self.metrics.waiting_for_slot():
                    await self._slots.acquire()  # FIFO: the wait counts toward the TTFT
                try:
                    with answering:
                        await response.send(send)
                finally:
                    self._slots.release()
            nursery.cancel_scope.cancel()

    def _admit(self, request: SimRequest) -> list[tuple[bytes, bytes]]:
        """Take the request from the rate limit buckets; its ``x-ratelimit-*`` headers.

        Raises the 429 `ApiError` (with ``Retry-After``) when it does not fit.
        """
        limiter = self.rate_limiter
        assert limiter is not None
        now = trio.current_time()
        output, _ = output_length(self.config, request.max_tokens, request.token_cap)
        tokens = request.input_tokens + output
        refused = limiter.admit(now, tokens)
        limits = limiter.headers(now)
        if refused is None:
            return limits
        budget, wait = refused
        if math.isinf(wait):
            raise ApiError(
                429,
                f"Request too large (simulated): {tokens} tokens, more than the limit of "
                f"{self.config.faults.tokens_per_minute:g} tokens per minute.",
                type="tokens",
                code="rate_limit_exceeded",
                headers=limits,
            )
        raise self._throttled(wait, budget, limits)

    def _stream_error(self, status: int | None) -> ApiError:
        """The error a STREAM_ERROR fault reports mid-answer."""
        return self._throttled() if status == 429 else _server_error(status or 500)

    def _throttled(
        self,
        retry_after: float | None = None,
        budget: str = "requests",
        limits: list[tuple[bytes, bytes]] | None = None,
    ) -> ApiError:
        if retry_after is None:
            retry_after = self.config.faults.retry_after
        return ApiError(
            429,
            f"Rate limit reached for {budget} (simulated). Please try again in {retry_after:.3g}s.",
            type=budget,
            code="rate_limit_exceeded",
            headers=[
                (b"retry-after", b"%d" % math.ceil(retry_after)),
                (b"retry-after-ms", b"%d" % math.ceil(retry_after * 1000)),
                *(limits or ()),
            ],
        )


class _Response:
    """One answer on its planned timeline; `error` ends it when the plan has a
    STREAM_ERROR."""

    __slots__ = ("dialect", "error", "limits", "out", "request", "timeline")

    def __init__(
        self,
        dialect: Dialect,
        request: SimRequest,
        timeline: Plan,
        out: Renderer,
        error: ApiError | None,
        limits: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.dialect = dialect
        self.request = request
        self.timeline = timeline
        self.out = out
        self.error = error
        self.limits = limits or []

    async def send(self, send: Send, pending: bytes = b"") -> None:
        """Send the answer on its timeline, counted from now (when work starts). A
        streamed answer's headers are already sent; `pending` bytes go with its
        first chunk."""
        start = trio.current_time()
        timeline, out = self.timeline, self.out
        if not self.request.stream:
            await _sleep_until(start + timeline.duration)
            if self.error is not None:
                await _send_reply(send, self.dialect.error(self.error))
                return
            body = out.body()
            headers = [
                *self.dialect.whole_headers(self.request, timeline),
                *self.limits,
                (b"content-length", b"%d" % len(body)),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if timeline.drop_after is None:
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            return  # dropped: the body stays incomplete

        # Chunks already due go out together, as a server that fell behind flushes
        # its buffer: with no delays a whole stream is one write.
        chunks = timeline.chunks
        end = len(chunks) if timeline.drop_after is None else timeline.drop_after
        i = 0
        while i < end:
            due = start + chunks[i].at
            if pending and due > trio.current_time():
                await send({"type": "http.response.body", "body": pending, "more_body": True})
                pending = b""
            await _sleep_until(due)
            now = trio.current_time()
            j = i + 1
            while j < end and start + chunks[j].at <= now:
                j += 1
            body = pending + b"".join([out.chunk(chunk) for chunk in chunks[i:j]])
            pending = b""
            if j == len(chunks):
                await send({"type": "http.response.body", "body": body + out.tail()})
                return
            await send({"type": "http.response.body", "body": body, "more_body": True})
            i = j
        if self.error is not None:  # an error event ends the body when the chunk is due
            await _sleep_until(start + chunks[end].at)
            error = out.stream_error(self.error)
            await send({"type": "http.response.body", "body": pending + error})
            return
        # Dropped: wait until the chunk is due, then return without ending the chunked
        # body, so the server closes the connection.
        if pending:
            await send({"type": "http.response.body", "body": pending, "more_body": True})
        await _sleep_until(start + chunks[end].at)


def _server_error(status: int) -> ApiError:
    message = _SERVER_ERROR_MESSAGES.get(status, f"Simulated server error {status}.")
    return ApiError(status, message, type="server_error")


def _method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, f"Method {method} is not allowed for {path}", code="method_not_allowed")
