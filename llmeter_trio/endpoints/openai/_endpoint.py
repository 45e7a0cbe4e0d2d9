"""What the OpenAI adapters share on top of `HttpEndpoint`: base URL, key, usage requests.

The HTTP side (options, one pooled client per run, timing) is `HttpEndpoint`'s;
this adds what is OpenAI's: the ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``
conventions, ``Authorization: Bearer``, the ``stream`` and ``model`` payload
fields, server-sent events read by each API's `StreamState`, and OpenAI's
error objects in whole answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import httpx  # noqa: F401 (tests reach httpx.AsyncClient through this module, as before)

from .._base import secret_field
from .._http import (
    DEFAULT_MAX_RESPONSE_CHARS,
    HttpEndpoint,
    json_answer,
    payload_is_prepared,
    prepare_model_and_stream,
    resolve_api_key,
)
from .._response import InvocationResponse
from .._sse import SSEReader
from .._timing import StreamRecorder
from ._parsing import StreamState, classify_error_object, describe_error_object

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RESPONSE_CHARS", "OpenAIEndpointBase", "ask_for_usage"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@attrs.define(kw_only=True)
class OpenAIEndpointBase(HttpEndpoint):
    """Options and HTTP plumbing shared by the OpenAI-compatible endpoints.

    - `base_url`: the API root, ``https://api.openai.com/v1`` unless the
      ``OPENAI_BASE_URL`` environment variable says otherwise (as for the
      openai SDK); for a local server, e.g. ``http://127.0.0.1:8000/v1``.
    - `api_key`: sent as ``Authorization: Bearer ...``; when not given, read
      from the environment variable named by `api_key_env` (``OPENAI_API_KEY``).
      It is never saved nor shown. Without a key no Authorization is sent.
    - `stream`: None (the default): each payload's ``stream`` flag chooses
      streaming (the default) or not; True or False: every request streams,
      or none does, whatever its payload says.
    - `extra_headers`, `extra_query`, `verify`, `max_response_chars`,
      `http2`, `http_transport`: as for every `HttpEndpoint`.
    """

    provider: str = "openai"
    api_key: str | None = secret_field()
    api_key_env: str = "OPENAI_API_KEY"
    stream: bool | None = None

    stream_state: ClassVar[type[StreamState]] = StreamState

    def __attrs_post_init__(self) -> None:
        self.api_key = resolve_api_key(self.api_key, self.api_key_env)
        super().__attrs_post_init__()

    def default_base_url(self) -> str:
        return os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL

    # -- configuration ----------------------------------------------------------

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the model id (when it has none) and ``stream`` (see `stream`)."""
        prepared = prepare_model_and_stream(payload, self.model_id, self.stream)
        if prepared["stream"]:
            self._prepare_stream(prepared)
        return prepared

    def _prepare_stream(self, payload: dict[str, Any]) -> None:
        """Adjust a streaming payload (the Chat and Completions APIs ask for usage)."""

    def is_prepared(self, payload: Mapping[str, Any]) -> bool:
        return payload_is_prepared(payload, self.model_id, self.stream)

    # -- the HTTP hooks -----------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def stream_reader(self, recorder: StreamRecorder) -> SSEReader:
        return SSEReader(self.stream_state(recorder, self.max_response_chars))

    def read_body(self, body: bytes) -> InvocationResponse:
        """A whole answer: an OpenAI ``error`` object, or the API's answer (`parse_body`)."""
        obj = json_answer(body)
        if isinstance(obj, InvocationResponse):
            return obj
        error = obj.get("error")
        if error:
            return InvocationResponse.error_output(
                describe_error_object(error), classify_error_object(error)
            )
        return self.parse_body(obj)


def ask_for_usage(payload: dict[str, Any], include_usage: bool) -> None:
    """Ask a streaming Chat/Completions request for its usage, unless it says otherwise."""
    if not include_usage:
        return
    options = payload.get("stream_options")
    if options is None:
        payload["stream_options"] = {"include_usage": True}
    elif isinstance(options, Mapping) and "include_usage" not in options:
        payload["stream_options"] = {**options, "include_usage": True}
