"""`OpenAICompletionsEndpoint`: the legacy Completions API (``POST {base_url}/completions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._response import ChunkKind, InvocationResponse
from .._sse import ServerSentEvent
from ._endpoint import OpenAIEndpointBase, ask_for_usage
from ._parsing import StreamState, apply_usage

__all__ = ["CompletionsStreamState", "OpenAICompletionsEndpoint"]

_CONTENT = ChunkKind.CONTENT


class CompletionsStreamState(StreamState):
    """Reads ``text_completion`` events: each choice's ``text`` is a CONTENT chunk.

    Tokens per chunk are known from ``logprobs.tokens``, or from a running
    usage total on every chunk (vLLM's ``continuous_usage_stats``).
    """

    __slots__ = ()
    end_marker = "a finish_reason or [DONE]"

    def on_event(self, event: ServerSentEvent) -> None:
        read = self.read_choices(event)
        if read is None:
            return
        choices, event_tokens = read
        for choice in choices:
            finish_reason = choice.get("finish_reason")
            if finish_reason:
                self.finished = True
                self.stop_reason = finish_reason
            text = choice.get("text")
            if not text or not isinstance(text, str):
                continue
            tokens = event_tokens
            if tokens is None:
                logprobs = choice.get("logprobs")
                if logprobs and isinstance(logprobs.get("tokens"), list):
                    tokens = len(logprobs["tokens"])
            else:
                event_tokens = 0  # a running total counts once per event
            self.add_text(text)
            self.recorder.chunk(len(text), _CONTENT, tokens)


@attrs.define(kw_only=True)
class OpenAICompletionsEndpoint(OpenAIEndpointBase):
    """An OpenAI-compatible legacy Completions endpoint: a text prompt, text back.

    Streaming requests ask for a final usage chunk (``stream_options:
    {"include_usage": true}``) unless `include_usage` is false or the payload
    says otherwise.
    """

    endpoint_type = "openai-completions"
    api_path = "/completions"
    stream_state = CompletionsStreamState
    endpoint_name: str = "openai-completions"
    include_usage: bool = True

    def _prepare_stream(self, payload: dict[str, Any]) -> None:
        ask_for_usage(payload, self.include_usage)

    @classmethod
    def create_payload(
        cls, user_message: str, max_tokens: int | None = 256, **kwargs: Any
    ) -> dict[str, Any]:
        """A Completions payload: ``{"prompt": user_message, "max_tokens": ...}``.

        Pass ``max_tokens=None`` to leave it out; `kwargs` are other payload
        fields (``temperature``, ``stream``, ...).
        """
        payload: dict[str, Any] = {"prompt": user_message}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        payload.update(kwargs)
        return payload

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The prompt, or the prompts of a batch one per line (None for token ids)."""
        prompt = payload.get("prompt")
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            return "\n".join(prompt)
        return None

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """A ``text_completion`` object: the choices' text, id and usage."""
        text = [
            choice["text"]
            for choice in body.get("choices") or ()
            if isinstance(choice, Mapping) and isinstance(choice.get("text"), str)
        ]
        reasons = [
            choice["finish_reason"]
            for choice in body.get("choices") or ()
            if isinstance(choice, Mapping) and isinstance(choice.get("finish_reason"), str)
        ]
        response = InvocationResponse(
            response_text="".join(text), id=body.get("id"), stop_reason=next(iter(reasons), None)
        )
        usage = body.get("usage")
        if isinstance(usage, Mapping):
            apply_usage(response, usage)
        return response
