"""`OpenAIResponsesEndpoint`: the Responses API (``POST {base_url}/responses``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._conversation import append_input_turn
from .._response import ChunkKind, ErrorClass, InvocationResponse
from .._sse import ServerSentEvent
from ._content import (
    MediaSource,
    input_audio_part,
    input_file_part,
    input_image_part,
    input_text_part,
)
from ._endpoint import OpenAIEndpointBase
from ._parsing import (
    StreamState,
    apply_usage,
    classify_error_object,
    describe_error_object,
    text_of_content,
)

__all__ = ["OpenAIResponsesEndpoint", "ResponsesStreamState"]

_DELTA_KINDS = {
    "response.output_text.delta": ChunkKind.CONTENT,
    "response.refusal.delta": ChunkKind.CONTENT,
    "response.reasoning_text.delta": ChunkKind.REASONING,
    "response.reasoning_summary_text.delta": ChunkKind.REASONING,
    "response.function_call_arguments.delta": ChunkKind.TOOL,
    "response.custom_tool_call_input.delta": ChunkKind.TOOL,
    "response.mcp_call_arguments.delta": ChunkKind.TOOL,
    "response.code_interpreter_call_code.delta": ChunkKind.TOOL,
}
_RESPONSE_EVENTS = frozenset(
    {"response.created", "response.in_progress", "response.completed", "response.incomplete"}
)
_FAILED = "the response failed, and the server said no more"


def _stop_reason(response: Mapping[str, Any]) -> str | None:
    """Why a response ended: its ``incomplete_details.reason`` (``max_output_tokens``,
    ``content_filter``), else its status (``completed``)."""
    details = response.get("incomplete_details")
    if isinstance(details, Mapping) and isinstance(details.get("reason"), str):
        return details["reason"]  # type: ignore[no-any-return]
    status = response.get("status")
    return status if isinstance(status, str) else None


def _failure(response: Mapping[str, Any]) -> tuple[ErrorClass, str]:
    error = response.get("error") or {"message": _FAILED}
    return classify_error_object(error), describe_error_object(error)


class ResponsesStreamState(StreamState):
    """Reads the Responses API's typed events.

    Text deltas (``response.output_text.delta``, ``response.refusal.delta``)
    are CONTENT, reasoning text and summary deltas REASONING, tool-call
    argument deltas TOOL. ``response.completed`` (or ``.incomplete``) brings
    the usage; ``response.failed`` and ``error`` events are errors. Tokens
    per chunk are known when deltas come with logprobs.
    """

    __slots__ = ()
    end_marker = "response.completed"

    def on_event(self, event: ServerSentEvent) -> None:
        obj = self.load(event)
        if obj is None:
            return
        event_type = obj.get("type") or event.event
        kind = _DELTA_KINDS.get(event_type)
        if kind is not None:
            delta = obj.get("delta")
            if delta and isinstance(delta, str):
                logprobs = obj.get("logprobs")
                tokens = len(logprobs) if logprobs and isinstance(logprobs, list) else None
                if kind is ChunkKind.CONTENT:
                    self.add_text(delta)
                self.recorder.chunk(len(delta), kind, tokens)
        elif event_type in _RESPONSE_EVENTS:
            finished = event_type in ("response.completed", "response.incomplete")
            if finished:
                self.finished = True
            response = obj.get("response")
            if isinstance(response, Mapping):
                if finished:
                    self.stop_reason = _stop_reason(response)
                if self.response_id is None:
                    self.response_id = response.get("id")
                usage = response.get("usage")
                if usage:
                    self.usage = usage
        elif event_type == "response.failed":
            response = obj.get("response")
            self.fail(*_failure(response if isinstance(response, Mapping) else {}))
        elif event_type == "error":
            self.fail(classify_error_object(obj), describe_error_object(obj))


@attrs.define(kw_only=True)
class OpenAIResponsesEndpoint(OpenAIEndpointBase):
    """An OpenAI-compatible Responses API endpoint.

    The usage arrives with ``response.completed`` without being asked for.
    """

    endpoint_type = "openai-responses"
    api_path = "/responses"
    stream_state = ResponsesStreamState
    endpoint_name: str = "openai-responses"

    @classmethod
    def create_payload(
        cls,
        user_message: str,
        max_tokens: int | None = 256,
        *,
        instructions: str | None = None,
        images: Sequence[MediaSource] = (),
        audio: Sequence[MediaSource] = (),
        documents: Sequence[MediaSource] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A Responses payload: `user_message` as ``input``, with attachments if given.

        `images` (paths, bytes or URLs), `audio` (wav or mp3 paths or bytes) and
        `documents` (e.g. PDF paths or bytes) are read and base64-encoded now,
        into ``input_image``, ``input_audio`` and ``input_file`` parts after
        the text of one user message. `max_tokens` goes in as
        ``max_output_tokens`` (None leaves it out); other `kwargs` are payload
        fields (``reasoning``, ``stream``, ...).
        """
        payload: dict[str, Any] = {"input": user_message}
        if images or audio or documents:
            content = [input_text_part(user_message)]
            content += [input_image_part(image) for image in images]
            content += [input_audio_part(clip) for clip in audio]
            content += [input_file_part(document) for document in documents]
            payload["input"] = [{"role": "user", "content": content}]
        if instructions is not None:
            payload["instructions"] = instructions
        if max_tokens is not None:
            payload["max_output_tokens"] = max_tokens
        payload.update(kwargs)
        return payload

    @classmethod
    def continue_conversation(
        cls, payload: dict[str, Any], answer: str, user_message: str
    ) -> dict[str, Any]:
        """``input`` as a list of messages, with the ``assistant`` answer and the next ``user``
        message appended (a text ``input`` becomes the first user message)."""
        return append_input_turn(payload, answer, user_message, endpoint=cls.endpoint_type)

    @staticmethod
    def prompt_text(payload: Mapping[str, Any]) -> str | None:
        """The instructions and the text of the input, one item per line."""
        parts: list[str] = []
        instructions = payload.get("instructions")
        if isinstance(instructions, str):
            parts.append(instructions)
        items = payload.get("input")
        if isinstance(items, str):
            parts.append(items)
        elif isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping):
                    text_of_content(item.get("content"), parts)
                elif isinstance(item, str):
                    parts.append(item)
        return "\n".join(parts) if parts or items is not None else None

    def parse_body(self, body: dict[str, Any]) -> InvocationResponse:
        """A ``response`` object: its output text (and refusals), id and usage."""
        if body.get("status") == "failed":
            error_class, message = _failure(body)
            return InvocationResponse.error_output(message, error_class, id=body.get("id"))
        text: list[str] = []
        for item in body.get("output") or ():
            if not isinstance(item, Mapping) or item.get("type") != "message":
                continue
            for part in item.get("content") or ():
                if not isinstance(part, Mapping):
                    continue
                value = part.get("text") if part.get("type") == "output_text" else None
                if value is None and part.get("type") == "refusal":
                    value = part.get("refusal")
                if isinstance(value, str):
                    text.append(value)
        response = InvocationResponse(
            response_text="".join(text), id=body.get("id"), stop_reason=_stop_reason(body)
        )
        usage = body.get("usage")
        if isinstance(usage, Mapping):
            apply_usage(response, usage)
        return response
