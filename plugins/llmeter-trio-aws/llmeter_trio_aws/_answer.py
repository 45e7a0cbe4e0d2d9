"""`Answer`: what one answer, streamed or whole, has shown so far, and its record.

The stream states and the body parsers of every API fill one in the same way
(text, token counts, stop reason, the first error), so the record is built in
one place: `Answer.response`.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmeter_trio.endpoints import ErrorClass, InvocationResponse, TokenCountSource

__all__ = ["Answer"]

_SERVER = TokenCountSource.SERVER


class Answer:
    """Text, usage, stop reason and error of one answer.

    `finished` says the API's own end of the answer was seen (a stop reason,
    ``[DONE]``, ...); a stream that ends without it was cut short.
    `stop_reason` is the model's own word (``end_turn``, ``max_tokens``,
    ``length``, ``eos_token``, ...). With `input_excludes_cache` (Bedrock's and
    Anthropic's way), `input_tokens` are the uncached input only, and the record's
    input is their sum with the cache reads and writes (the whole prompt, as OpenAI
    counts it).
    """

    __slots__ = (
        "cache_write_tokens",
        "cached_input_tokens",
        "error",
        "error_class",
        "finished",
        "input_excludes_cache",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "response_id",
        "stop_reason",
        "text",
    )

    def __init__(self) -> None:
        self.text: list[str] = []
        self.response_id: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cached_input_tokens: int | None = None
        self.cache_write_tokens: int | None = None
        self.input_excludes_cache = False
        self.reasoning_tokens: int | None = None  # of the output tokens
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.error_class: ErrorClass | None = None
        self.finished = False

    def fail(self, error_class: ErrorClass, message: str) -> None:
        """Note the answer's first error (later ones are ignored)."""
        if self.error_class is None:
            self.error_class = error_class
            self.error = message

    def load_body(self, body: bytes) -> Any:
        """A whole answer's JSON, or None (and a PROTOCOL error) when it is not JSON."""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            self.fail(ErrorClass.PROTOCOL, f"the answer is not JSON ({exc}): {body[:200]!r}")
            return None

    def response(self, max_chars: int | None = None) -> InvocationResponse:
        """The record of the answer so far (timings are stamped by the caller).

        With `max_chars`, the text kept is cut to that many characters and
        ``truncated_chars`` says how many were left out.
        """
        text = "".join(self.text)
        truncated = None
        if max_chars is not None and len(text) > max_chars:
            truncated = len(text) - max_chars
            text = text[:max_chars]
        if self.error_class is not None:
            assert self.error is not None
            return InvocationResponse.error_output(
                self.error, self.error_class, response_text=text or None, id=self.response_id
            )
        response = InvocationResponse(
            response_text=text,
            id=self.response_id,
            truncated_chars=truncated,
            stop_reason=self.stop_reason,
        )
        if self.input_tokens is not None:
            response.num_tokens_input = self.input_tokens
            if self.input_excludes_cache:
                response.num_tokens_input += (self.cached_input_tokens or 0) + (
                    self.cache_write_tokens or 0
                )
            response.num_tokens_input_source = _SERVER
        if self.output_tokens is not None:
            response.num_tokens_output = self.output_tokens
            response.num_tokens_output_source = _SERVER
        if self.cached_input_tokens is not None:
            response.num_tokens_input_cached = self.cached_input_tokens
        if self.cache_write_tokens is not None:
            response.num_tokens_input_cache_write = self.cache_write_tokens
        if self.reasoning_tokens is not None:
            response.num_tokens_output_reasoning = self.reasoning_tokens
        return response
