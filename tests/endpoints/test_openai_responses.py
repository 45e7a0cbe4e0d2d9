"""`OpenAIResponsesEndpoint`: typed events, usage on completion, failures, plain answers."""

from __future__ import annotations

import orjson
import pytest
import trio

from llmeter_trio.endpoints import (
    ChunkKind,
    ErrorClass,
    InvocationResponse,
    OpenAIResponsesEndpoint,
    TokenCountSource,
)

from ._openai_support import Server, invoke_with, responses_event, sse

CONTENT, REASONING, TOOL = ChunkKind.CONTENT, ChunkKind.REASONING, ChunkKind.TOOL
USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 9,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 21,
}


def created(status: str = "in_progress") -> bytes:
    response = {"id": "resp_1", "object": "response", "status": status, "usage": None}
    return responses_event({"type": "response.created", "sequence_number": 0, "response": response})


def delta(event_type: str, text: str, **extra: object) -> bytes:
    return responses_event({"type": event_type, "item_id": "i", "delta": text, **extra})


def completed(usage: dict | None = USAGE, event_type: str = "response.completed") -> bytes:
    response = {"id": "resp_1", "object": "response", "status": "completed", "usage": usage}
    return responses_event({"type": event_type, "response": response})


async def respond(server: Server, payload: dict | None = None, **options) -> InvocationResponse:
    return await invoke_with(OpenAIResponsesEndpoint, server, payload, **options)


async def test_reasoning_then_text_then_completed(autojump_clock: trio.abc.Clock) -> None:
    """Reasoning and text deltas are chunks at exact times; usage comes with completion."""
    server = Server(
        parts=[
            (0.125, created()),
            (0.125, delta("response.reasoning_summary_text.delta", "Think")),
            (0.25, delta("response.reasoning_text.delta", "ing")),
            (0.25, delta("response.output_text.delta", "Hello")),
            (0.125, delta("response.output_text.delta", " you")),
            (0.125, responses_event({"type": "response.output_text.done", "text": "Hello you"})),
            (0.0, completed()),
        ]
    )
    response = await respond(server)
    assert not response.failed, response.error
    assert [(c.kind, c.time, c.chars) for c in response.chunks] == [
        (REASONING, 0.25, 5),
        (REASONING, 0.5, 3),
        (CONTENT, 0.75, 5),
        (CONTENT, 0.875, 4),
    ]
    assert response.time_to_first_token == 0.25
    assert response.time_to_first_content_token == 0.75
    assert response.time_to_last_token == 1.0
    assert response.response_text == "Hello you"
    assert response.id == "resp_1"
    assert (response.num_tokens_input, response.num_tokens_output) == (12, 9)
    assert response.num_tokens_input_cached == 4
    assert response.num_tokens_output_reasoning == 5
    assert response.num_tokens_output_source is TokenCountSource.SERVER
    assert server.requests[0].url.path == "/v1/responses"
    assert "stream_options" not in server.bodies[0]


async def test_tool_call_arguments_and_logprobs() -> None:
    """Function-call argument deltas are TOOL chunks; logprobs give tokens per chunk."""
    logprobs = [{"token": "Hi", "logprob": 0}, {"token": "!", "logprob": 0}]
    server = Server(
        parts=[
            (0, created()),
            (0, delta("response.function_call_arguments.delta", '{"q": 1}')),
            (0, delta("response.output_text.delta", "Hi!", logprobs=logprobs)),
            (0, completed()),
        ]
    )
    response = await respond(server)
    assert [(c.kind, c.chars, c.tokens) for c in response.chunks] == [
        (TOOL, 8, None),
        (CONTENT, 3, 2),
    ]


async def test_incomplete_is_not_an_error() -> None:
    """A response cut short by max_output_tokens is complete as a measurement."""
    server = Server(
        parts=[
            (0, created()),
            (0, delta("response.output_text.delta", "a")),
            (0, completed(event_type="response.incomplete")),
        ]
    )
    response = await respond(server)
    assert not response.failed
    assert response.num_tokens_output == 9


async def test_no_usage() -> None:
    """Without usage the counts stay None for the tokenizer."""
    server = Server(
        parts=[(0, created() + delta("response.output_text.delta", "a") + completed(None))]
    )
    response = await respond(server)
    assert response.num_tokens_output is None
    assert response.num_tokens_output_source is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": "server_error", "message": "boom"}, ErrorClass.SERVER),
        ({"code": "rate_limit_exceeded", "message": "slow"}, ErrorClass.THROTTLED),
        ({"code": "invalid_prompt", "message": "no"}, ErrorClass.CLIENT),
    ],
)
async def test_response_failed(error: dict, expected: ErrorClass) -> None:
    """``response.failed`` fails the record with the error's class and message."""
    failed = {
        "type": "response.failed",
        "response": {"id": "resp_1", "status": "failed", "error": error},
    }
    server = Server(
        parts=[(0, created() + delta("response.output_text.delta", "a") + responses_event(failed))]
    )
    response = await respond(server)
    assert response.error_class is expected
    assert response.error == f"{error['code']}: {error['message']}"
    assert len(response.chunks) == 1


async def test_error_event() -> None:
    """An ``error`` event (named, or by type only) fails the record."""
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Too many", "param": None}
    for body in (responses_event(error), sse(error)):
        response = await respond(Server(parts=[(0, created() + body)]))
        assert response.error_class is ErrorClass.THROTTLED
        assert response.error == "rate_limit_exceeded: Too many"


async def test_plain_answer() -> None:
    """A ``response`` object gives its output text and usage; reasoning is not text."""
    body = {
        "id": "resp_9",
        "object": "response",
        "status": "completed",
        "error": None,
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
            },
            {"type": "function_call", "name": "f", "arguments": "{}"},
        ],
        "usage": USAGE,
    }
    server = Server(parts=[(0, orjson.dumps(body))], headers={"content-type": "application/json"})
    response = await respond(server, OpenAIResponsesEndpoint.create_payload("Hi", stream=False))
    assert response.response_text == "Hi"
    assert response.id == "resp_9"
    assert response.num_tokens_output_reasoning == 5
    assert response.chunks == []


async def test_plain_failed_answer() -> None:
    """A ``status: failed`` body is an error record."""
    body = {"id": "r", "status": "failed", "error": {"code": "server_error", "message": "x"}}
    server = Server(parts=[(0, orjson.dumps(body))], headers={"content-type": "application/json"})
    response = await respond(server, OpenAIResponsesEndpoint.create_payload("Hi", stream=False))
    assert response.error_class is ErrorClass.SERVER


def test_prompt_text() -> None:
    """Instructions and input text (a string or message items) are the prompt text."""
    prompt_text = OpenAIResponsesEndpoint.prompt_text
    assert prompt_text({"input": "Hi", "instructions": "Be brief"}) == "Be brief\nHi"
    items = [
        {"role": "developer", "content": "Rules"},
        {"role": "user", "content": [{"type": "input_text", "text": "Q"}, {"type": "input_image"}]},
    ]
    assert prompt_text({"input": items}) == "Rules\nQ"
    assert prompt_text({}) is None
