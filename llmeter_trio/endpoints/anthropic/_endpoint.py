"""`AnthropicMessagesEndpoint`: Anthropic's Messages API (``POST {base_url}/v1/messages``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from .._base import check_header_value, secret_field
from .._conversation import append_chat_turn
from .._http import (
    HttpEndpoint,
    payload_is_prepared,
    prepare_model_and_stream,
    resolve_api_key,
)
from .._response import InvocationResponse
from .._sse import SSEReader
from .._timing import StreamRecorder
from ..openai._content import MediaSource
from ._content import create_messages_payload, prompt_text
from ._parsing import MessagesStreamState, classify_anthropic_error, parse_message_body

__all__ = ["DEFAULT_ANTHROPIC_VERSION", "DEFAULT_BASE_URL", "AnthropicMessagesEndpoint"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


def _check_version(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_header_value(attribute.name, value)


@attrs.define(kw_only=True)
class AnthropicMessagesEndpoint(HttpEndpoint):
    """Anthropic's Messages API, streamed (the default) or whole.

    - `base_url`: the API's origin, ``https://api.anthropic.com`` unless the
      ``ANTHROPIC_BASE_URL`` environment variable says otherwise (as for the
      anthropic SDK); requests go to ``{base_url}/v1/messages``.
    - `api_key`: sent as ``x-api-key``; when not given, read from the
      environment variable named by `api_key_env` (``ANTHROPIC_API_KEY``).
      Never saved nor shown.
    - `anthropic_version`: the ``anthropic-version`` header (``2023-06-01``).
    - `stream`: None (the default): each payload's ``stream`` flag chooses
      streaming (the default) or not; True or False: every request streams,
      or none does.
    - `extra_headers` (e.g. ``anthropic-beta``), `extra_query`, `verify`,
      `max_response_chars`, `http2`, `http_transport`: as for every `HttpEndpoint`.

    Payloads need ``max_tokens`` (the API requires it; `create_payload` sets
    it); the model id is added to any payload without one.
    """

    endpoint_type = "anthropic-messages"
    api_path = "/v1/messages"
    endpoint_name: str = "anthropic-messages"
    provider: str = "anthropic"
    api_key: str | None = secret_field()
    api_key_env: str = "ANTHROPIC_API_KEY"
    anthropic_version: str = attrs.field(
        default=DEFAULT_ANTHROPIC_VERSION, validator=_check_version
    )
    stream: bool | None = None

    def __attrs_post_init__(self) -> None:
        self.api_key = resolve_api_key(self.api_key, self.api_key_env)
        super().__attrs_post_init__()

    def default_base_url(self) -> str:
        return os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL

    # -- payloads -----------------------------------------------------------------

    @classmethod
    def create_payload(
        cls,
        user_message: str,
        max_tokens: int = 256,
        *,
        system: str | None = None,
        system_prompt: str | None = None,
        images: Sequence[MediaSource] = (),
        documents: Sequence[MediaSource] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A Messages API payload: one user turn, with images and documents if given.

        `system` (or `system_prompt`, as for the chat endpoint) is the system
        prompt; `images` and `documents` (paths, bytes or URLs) are read and
        base64-encoded now. Other `kwargs` are payload fields (``thinking``,
        ``temperature``, ``stream``, ...). See `create_messages_payload`.
        """
        return create_messages_payload(
            user_message,
            max_tokens,
            system=system if system is not None else system_prompt,
            images=images,
            documents=documents,
            **kwargs,
        )

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """``messages`` with the ``assistant`` answer and the next ``user`` message appended."""
        return append_chat_turn(payload, answer, user_message, endpoint=cls.endpoint_type)

    def prepare_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the model id (when it has none) and ``stream`` (see `stream`).

        A payload without ``max_tokens`` is refused here, before the run
        sends anything: the API would refuse every request.
        """
        if "max_tokens" not in payload:
            raise ValueError(
                f"{self.endpoint_type}: the payload has no max_tokens, which the Messages API "
                "requires: make payloads with create_payload(..., max_tokens=...) or add it"
            )
        return prepare_model_and_stream(payload, self.model_id, self.stream)

    def is_prepared(self, payload: Mapping[str, Any]) -> bool:
        return payload_is_prepared(payload, self.model_id, self.stream)

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The system prompt and every turn's text, one per line."""
        return prompt_text(payload)

    # -- the HTTP hooks -------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.anthropic_version}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def stream_reader(self, recorder: StreamRecorder) -> SSEReader:
        return SSEReader(MessagesStreamState(recorder, self.max_response_chars))

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """A ``message`` object (or an ``error`` one): see `parse_message_body`."""
        return parse_message_body(body)

    def error_answer(
        self, status: int, headers: httpx.Headers, body: bytes, reason: str = ""
    ) -> InvocationResponse:
        """``HTTP <status>: <type>: <message>``, classed by status (429 throttled, 529 and
        other 5xx server, other 4xx client): see `classify_anthropic_error`."""
        error_class, message = classify_anthropic_error(status, body)
        return InvocationResponse.error_output(
            f"HTTP {status}{f' {reason}' if reason else ''}: {message}",
            error_class,
            status_code=status,
        )
