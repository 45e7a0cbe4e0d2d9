"""Reading request bodies: what was asked for, and how many input tokens.

The OpenAI-style bodies are read here; each other API's module reads its own
with the helpers here (`read_object`, `Prompt`, `positive_int`). Input
tokens are counted the simple way a test can repeat: one whitespace-separated
word of text content is one token (token ids in a ``/v1/completions`` prompt
count one each). A request keeps its prompt's texts in order (`SimRequest.prompt`)
for the prefix cache.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
import orjson

__all__ = [
    "Api",
    "ApiError",
    "Prompt",
    "SimRequest",
    "parse_request",
    "positive_int",
    "read_object",
]


class Api(str, enum.Enum):
    """The generation APIs the server speaks."""

    CHAT = "chat.completions"
    COMPLETIONS = "completions"
    RESPONSES = "responses"
    ANTHROPIC = "anthropic.messages"
    CONVERSE = "bedrock.converse"
    INVOKE = "bedrock.invoke"
    SAGEMAKER = "sagemaker.invocations"


class ApiError(Exception):
    """A request the server refuses. `body` renders it OpenAI's way; each other
    API's module renders it its own way, from `status` (and `type` when that
    names one of the API's own error types)."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or []

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            }
        )


@attrs.frozen(kw_only=True)
class SimRequest:
    """What one generation request asks for."""

    api: Api
    model: str | None
    stream: bool
    include_usage: bool
    input_tokens: int
    max_tokens: int | None  # the exact output length (OpenAI's APIs)
    token_cap: int | None = None  # a limit a shorter answer does not reach (the others)
    reasoning: bool = True  # whether the answer may start with reasoning tokens
    body_format: str = ""  # the model's body format behind an AWS API (anthropic, llama, tgi)
    details: bool = False  # TGI: the answer carries ``details`` (finish reason, token count)
    prompt: tuple[str, ...] = ()  # the prompt's texts in order (system first), for the cache

    @classmethod
    def capped(
        cls,
        api: Api,
        model: str | None,
        stream: bool,
        input_tokens: int,
        token_cap: int | None,
        **more: Any,
    ) -> SimRequest:
        """A request to an API whose answers always carry usage and whose output limit is
        a cap (Anthropic's, Bedrock's, SageMaker's); `more` sets the other fields."""
        return cls(
            api=api,
            model=model,
            stream=stream,
            include_usage=True,
            input_tokens=input_tokens,
            max_tokens=None,
            token_cap=token_cap,
            **more,
        )


class Prompt:
    """A prompt's texts in order (`texts`) and its input tokens (`words`), one
    whitespace-separated word a token."""

    __slots__ = ("texts", "words")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.words = 0

    def add_text(self, text: str) -> None:
        """One piece of text."""
        self.texts.append(text)
        self.words += len(text.split())

    def add(self, value: Any) -> None:
        """A message ``content``: a string, or a list of parts with ``text`` (strings too)."""
        if isinstance(value, str):
            self.add_text(value)
        elif isinstance(value, list):
            for part in value:
                if isinstance(part, str):
                    self.add_text(part)
                elif isinstance(part, dict) and isinstance(part.get("text"), str):
                    self.add_text(part["text"])


def _chat_prompt(body: dict[str, Any]) -> Prompt:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty array", param="messages")
    prompt = Prompt()
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError(400, "each message must be an object", param="messages")
        prompt.add(message.get("content"))
    return prompt


def _completion_prompt(body: dict[str, Any]) -> Prompt:
    value = body.get("prompt")
    prompt = Prompt()
    if isinstance(value, str):
        prompt.add_text(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                prompt.add_text(item)
            elif isinstance(item, int):  # token ids: one token each
                prompt.add_text(str(item))
            elif isinstance(item, list):
                prompt.add_text(" ".join(map(str, item)))
    else:
        raise ApiError(400, "'prompt' must be a string or an array", param="prompt")
    return prompt


def _responses_prompt(body: dict[str, Any]) -> Prompt:
    items = body.get("input")
    prompt = Prompt()
    prompt.add(body.get("instructions"))
    if isinstance(items, str):
        prompt.add_text(items)
        return prompt
    if not isinstance(items, list):
        raise ApiError(400, "'input' must be a string or an array", param="input")
    for item in items:
        if isinstance(item, dict):
            prompt.add(item.get("content"))
            if isinstance(item.get("output"), str):  # a tool call's output
                prompt.add_text(item["output"])
    return prompt


_PROMPTS = {
    Api.CHAT: _chat_prompt,
    Api.COMPLETIONS: _completion_prompt,
    Api.RESPONSES: _responses_prompt,
}
_LENGTH_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def read_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"could not parse the JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def positive_int(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    """`body[name]` when it is a positive integer; None when absent and not `required`."""
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, f"'{name}' must be a positive integer", param=name)
    return value


def parse_request(api: Api, raw: bytes) -> SimRequest:
    """Validate an OpenAI-style request body and pull out what the simulation needs."""
    body = read_object(raw)
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "'model' must be a string", param="model")

    max_tokens = None
    for name in _LENGTH_FIELDS:
        if body.get(name) is not None:
            max_tokens = positive_int(body, name)
            break

    stream_options = body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
    prompt = _PROMPTS[api](body)
    return SimRequest(
        api=api,
        model=model,
        stream=bool(body.get("stream", False)),
        include_usage=include_usage,
        input_tokens=prompt.words,
        max_tokens=max_tokens,
        reasoning=api is not Api.COMPLETIONS,
        prompt=tuple(prompt.texts),
    )
