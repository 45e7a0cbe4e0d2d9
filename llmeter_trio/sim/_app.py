"""`SimApp`: the simulated OpenAI-compatible server as a plain ASGI application.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions``,
``POST /v1/responses``, ``GET /v1/models``, ``GET /v1/models/{id}`` and
``GET /health``. A request header ``x-sim-fault: 429|500|503|drop|stall|none``
forces a fault (or none) for that request, overriding the random draw.

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

import orjson
import trio

from ._formats import Renderer, renderer
from ._model import Fault, Plan, SimConfig, plan
from ._requests import Api, ApiError, parse_request

__all__ = ["SimApp"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_GENERATE = {
    "/v1/chat/completions": Api.CHAT,
    "/v1/completions": Api.COMPLETIONS,
    "/v1/responses": Api.RESPONSES,
}
_ID_PREFIX = {Api.CHAT: "chatcmpl-", Api.COMPLETIONS: "cmpl-", Api.RESPONSES: "resp_"}
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
_JSON_TYPE = (b"content-type", b"application/json")
_FAULT_HEADER = b"x-sim-fault"
_SERVER_ERROR_MESSAGES = {
    500: "The server had an error while processing your request (simulated).",
    503: "The server is overloaded or not ready yet (simulated).",
}


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [_JSON_TYPE, (b"content-length", b"%d" % len(body)), *(headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(send: Send, error: ApiError) -> None:
    await _send_json(send, error.status, error.body(), error.headers)


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
    """An OpenAI-compatible server whose latencies, token counts and faults are
    exactly those of its `SimConfig`.

    Each instance owns its seeded random generators (one for faults, one for
    jitter) and its FIFO concurrency limit; serve one instance per server.
    `worker` varies the seeds when several processes serve one config.
    """

    def __init__(self, config: SimConfig | None = None, *, worker: int = 0) -> None:
        self.config = config or SimConfig()
        self._fault_rng = random.Random(f"faults:{self.config.seed}:{worker}")
        self._latency_rng = random.Random(f"latency:{self.config.seed}:{worker}")
        limit = self.config.max_concurrency
        self._slots = trio.Semaphore(limit) if limit is not None else None
        self._ids = itertools.count(1)
        self._id_stem = secrets.token_hex(4)
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
        api = _GENERATE.get(path)
        if api is not None:
            if method != "POST":
                await _send_error(send, _method_not_allowed(method, path))
            else:
                await self._generate(api, scope, receive, send)
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

    async def _generate(self, api: Api, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        if raw is None:
            return
        try:
            request = parse_request(api, raw)
            fault, status = self._fault(scope)
        except ApiError as error:
            await _send_error(send, error)
            return
        if fault is Fault.THROTTLED:
            await _send_error(send, self._throttled())
            return
        if fault is Fault.SERVER_ERROR:
            await _send_error(send, _server_error(status or 500))
            return

        timeline = plan(
            self.config,
            self._latency_rng,
            input_tokens=request.input_tokens,
            max_tokens=request.max_tokens,
            reasoning=api is not Api.COMPLETIONS,
            fault=fault,
        )
        out = renderer(
            api,
            timeline,
            ident=f"{_ID_PREFIX[api]}{self._id_stem}{next(self._ids):016x}",
            model=request.model or self.config.model,
            created=int(time.time()),
            include_usage=request.include_usage,
            reasoning_style=self.config.responses_reasoning,
        )
        head = b""
        if request.stream:  # headers (and e.g. response.created) go out at once
            await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
            head = out.head()
        if self._slots is None and timeline.duration <= 0.0:
            await self._respond(request.stream, timeline, out, send, head)
            return
        if request.stream:  # even empty: a server may hold the headers until a body message
            await send({"type": "http.response.body", "body": head, "more_body": True})
        # Something to wait for: stop early if the client goes away, freeing the slot.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            if self._slots is None:
                await self._respond(request.stream, timeline, out, send)
            else:
                async with self._slots:  # FIFO: the wait counts toward the TTFT
                    await self._respond(request.stream, timeline, out, send)
            nursery.cancel_scope.cancel()

    async def _respond(
        self, stream: bool, timeline: Plan, out: Renderer, send: Send, pending: bytes = b""
    ) -> None:
        """Send one response on `timeline`, counted from now (when work starts). A
        streamed response's headers are already sent; `pending` bytes go with its
        first chunk."""
        start = trio.current_time()
        if not stream:
            await _sleep_until(start + timeline.duration)
            body = out.body()
            if timeline.drop_after is None:
                await _send_json(send, 200, body)
                return
            headers = [_JSON_TYPE, (b"content-length", b"%d" % len(body))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
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
        # Dropped: wait until the chunk is due, then return without ending the chunked
        # body, so the server closes the connection.
        if pending:
            await send({"type": "http.response.body", "body": pending, "more_body": True})
        await _sleep_until(start + chunks[end].at)

    def _throttled(self) -> ApiError:
        retry_after = self.config.faults.retry_after
        return ApiError(
            429,
            f"Rate limit reached (simulated). Please try again in {retry_after:g}s.",
            type="requests",
            code="rate_limit_exceeded",
            headers=[
                (b"retry-after", b"%d" % math.ceil(retry_after)),
                (b"retry-after-ms", b"%d" % round(retry_after * 1000)),
            ],
        )


def _server_error(status: int) -> ApiError:
    message = _SERVER_ERROR_MESSAGES.get(status, f"Simulated server error {status}.")
    return ApiError(status, message, type="server_error")


def _method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, f"Method {method} is not allowed for {path}", code="method_not_allowed")
