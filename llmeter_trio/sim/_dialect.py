"""What the app needs from each API it speaks: a `Dialect`.

A dialect reads a request (body, headers, the name in the URL), makes the
renderer of its answer, and says how the API reports an error. The app owns
everything else (faults, timing, concurrency), so every API gets the same
latency model, token counts and faults. `OpenAIDialect` is the OpenAI one.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from ._formats import Renderer, renderer
from ._model import Plan, SimConfig
from ._requests import Api, ApiError, SimRequest, parse_request

__all__ = ["SSE_HEADERS", "Dialect", "Headers", "OpenAIDialect", "Reply", "header"]

Headers = list[tuple[bytes, bytes]]
Reply = tuple[int, Headers, bytes]  # status, headers (content-length aside), body

SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
JSON_TYPE = (b"content-type", b"application/json")


def header(headers: Headers, name: bytes) -> bytes | None:
    """The value of header `name` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


class Dialect(Protocol):
    """One API's wire format, as the app uses it."""

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        """The request in `raw`; `target` is the model or endpoint named in the URL
        (empty when the URL names none). Raises `ApiError` to refuse it."""

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        """The renderer of the answer; `ident` is unique per request."""

    def stream_headers(self, request: SimRequest) -> Headers:
        """The headers of a streamed answer."""

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        """The headers of a whole (JSON) answer, content type included."""

    def error(self, error: ApiError) -> Reply:
        """`error` as this API reports it."""


_ID_PREFIX = {Api.CHAT: "chatcmpl-", Api.COMPLETIONS: "cmpl-", Api.RESPONSES: "resp_"}


@attrs.frozen
class OpenAIDialect:
    """``/v1/chat/completions``, ``/v1/completions`` and ``/v1/responses``."""

    api: Api

    def parse(self, raw: bytes, headers: Headers, target: str) -> SimRequest:
        return parse_request(self.api, raw)

    def renderer(
        self, request: SimRequest, plan: Plan, *, ident: str, created: int, config: SimConfig
    ) -> Renderer:
        return renderer(
            self.api,
            plan,
            ident=_ID_PREFIX[self.api] + ident,
            model=request.model or config.model,
            created=created,
            include_usage=request.include_usage,
            reasoning_style=config.responses_reasoning,
        )

    def stream_headers(self, request: SimRequest) -> Headers:
        return SSE_HEADERS

    def whole_headers(self, request: SimRequest, plan: Plan) -> Headers:
        return [JSON_TYPE]

    def error(self, error: ApiError) -> Reply:
        return error.status, error.headers, error.body()
