"""`OpenAIChatEndpoint`: the Chat Completions API (``POST {base_url}/chat/completions``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._conversation import append_chat_turn
from .._response import ChunkKind, InvocationResponse
from .._sse import ServerSentEvent
from ._content import MediaSource, file_part, image_url_part, input_audio_part
from ._endpoint import OpenAIEndpointBase, ask_for_usage
from ._parsing import StreamState, apply_usage, text_of_content

__all__ = ["ChatStreamState", "OpenAIChatEndpoint"]

_CONTENT = ChunkKind.CONTENT
_REASONING = ChunkKind.REASONING
_TOOL = ChunkKind.TOOL


def _logprob_tokens(choice: Mapping[str, Any]) -> int | None:
    """How many tokens a choice's delta carried, when it came with logprobs."""
    logprobs = choice.get("logprobs")
    if not logprobs:
        return None
    entries = logprobs.get("content") or logprobs.get("refusal")
    return len(entries) if isinstance(entries, list) else None


def _tool_chars(calls: Any) -> int:
    """Characters of tool-call names and arguments in a delta's ``tool_calls``."""
    chars = 0
    for call in calls if isinstance(calls, list) else (calls,):
        function = call.get("function", call) if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            name = function.get("name")
            arguments = function.get("arguments")
            if isinstance(name, str):
                chars += len(name)
            if isinstance(arguments, str):
                chars += len(arguments)
    return chars


class ChatStreamState(StreamState):
    """Reads ``chat.completion.chunk`` events.

    A chunk is recorded per kind of output a delta carries: ``content`` (and
    ``refusal``) as CONTENT, ``reasoning_content`` / ``reasoning`` as
    REASONING, ``tool_calls`` as TOOL. Role-only and empty deltas record
    nothing. Tokens per chunk are known from logprobs, or from a running usage
    total on every chunk (vLLM's ``continuous_usage_stats``).
    """

    __slots__ = ()
    end_marker = "a finish_reason or [DONE]"

    def on_event(self, event: ServerSentEvent) -> None:
        read = self.read_choices(event)
        if read is None:
            return
        choices, event_tokens = read
        record = self.recorder.chunk
        for choice in choices:
            get = choice.get
            finish_reason = get("finish_reason")
            if finish_reason:
                self.finished = True
                self.stop_reason = finish_reason
            delta = get("delta")
            if not delta:
                continue
            tokens: int | None
            if event_tokens is not None:
                tokens = event_tokens
            elif get("logprobs"):
                tokens = _logprob_tokens(choice)
            else:
                tokens = None
            get = delta.get
            content = get("content")
            if content and isinstance(content, str):
                self.add_text(content)
                record(len(content), _CONTENT, tokens)
                tokens = None if tokens is None else 0
            refusal = get("refusal")
            if refusal and isinstance(refusal, str):
                self.add_text(refusal)
                record(len(refusal), _CONTENT, tokens)
                tokens = None if tokens is None else 0
            reasoning = get("reasoning_content") or get("reasoning")
            if reasoning and isinstance(reasoning, str):
                record(len(reasoning), _REASONING, tokens)
                tokens = None if tokens is None else 0
            calls = get("tool_calls") or get("function_call")
            if calls:
                chars = _tool_chars(calls)
                if chars:
                    record(chars, _TOOL, tokens)
            if event_tokens is not None:
                event_tokens = 0  # a running total counts once per event


@attrs.define(kw_only=True)
class OpenAIChatEndpoint(OpenAIEndpointBase):
    """An OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, SGLang, llama.cpp, ...).

    Streaming requests ask for a final usage chunk (``stream_options:
    {"include_usage": true}``) unless `include_usage` is false or the payload
    says otherwise, so token counts come from the server.
    """

    endpoint_type = "openai-chat"
    api_path = "/chat/completions"
    stream_state = ChatStreamState
    endpoint_name: str = "openai-chat"
    include_usage: bool = True

    def _prepare_stream(self, payload: dict[str, Any]) -> None:
        ask_for_usage(payload, self.include_usage)

    @classmethod
    def create_payload(
        cls,
        user_message: str,
        max_tokens: int | None = 256,
        *,
        system_prompt: str | None = None,
        images: Sequence[MediaSource] = (),
        audio: Sequence[MediaSource] = (),
        documents: Sequence[MediaSource] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A Chat Completions payload: one user message, with attachments if given.

        `images` (paths, bytes or URLs), `audio` (wav or mp3 paths or bytes) and
        `documents` (e.g. PDF paths or bytes) are read and base64-encoded now,
        into ``image_url``, ``input_audio`` and ``file`` content parts after
        the text. `max_tokens` goes in as ``max_tokens``; pass None to leave it
        out (e.g. to send ``max_completion_tokens=...`` in `kwargs` instead).
        Other `kwargs` are payload fields (``temperature``, ``stream``, ...).
        """
        content: str | list[dict[str, Any]] = user_message
        if images or audio or documents:
            content = [{"type": "text", "text": user_message}]
            content += [image_url_part(image) for image in images]
            content += [input_audio_part(clip) for clip in audio]
            content += [file_part(document) for document in documents]
        messages: list[dict[str, Any]] = []
        if system_prompt is not None:
            messages.append({"role": "system", "content": system_prompt})
        messages.append({"role": "user", "content": content})
        payload: dict[str, Any] = {"messages": messages}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        payload.update(kwargs)
        return payload

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """``messages`` with the ``assistant`` answer and the next ``user`` message appended."""
        return append_chat_turn(payload, answer, user_message, endpoint=cls.endpoint_type)

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The text of every message, one per line."""
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return None
        parts: list[str] = []
        for message in messages:
            if isinstance(message, Mapping):
                text_of_content(message.get("content"), parts)
        return "\n".join(parts)

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """A ``chat.completion`` object: the messages' content, id and usage."""
        text: list[str] = []
        stop_reason = None
        for choice in body.get("choices") or ():
            if isinstance(choice, Mapping) and isinstance(choice.get("finish_reason"), str):
                stop_reason = stop_reason or choice["finish_reason"]
            message = choice.get("message") if isinstance(choice, Mapping) else None
            if isinstance(message, Mapping):
                for key in ("content", "refusal"):
                    value = message.get(key)
                    if isinstance(value, str):
                        text.append(value)
        response = InvocationResponse(
            response_text="".join(text), id=body.get("id"), stop_reason=stop_reason
        )
        usage = body.get("usage")
        if isinstance(usage, Mapping):
            apply_usage(response, usage)
        return response
