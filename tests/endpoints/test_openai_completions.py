"""`OpenAICompletionsEndpoint`: text chunks, token counts, plain answers."""

from __future__ import annotations

import orjson
import trio

from llmeter_trio.endpoints import (
    ChunkKind,
    ErrorClass,
    InvocationResponse,
    OpenAICompletionsEndpoint,
    TokenCountSource,
)

from ._openai_support import Server, invoke_with, sse, usage_chunk


def text_chunk(text: str, **choice: object) -> dict:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": None, **choice}],
    }


async def complete(server: Server, payload: dict | None = None, **options) -> InvocationResponse:
    return await invoke_with(OpenAICompletionsEndpoint, server, payload, **options)


async def test_stream_timings_and_usage(autojump_clock: trio.abc.Clock) -> None:
    """Text pieces are CONTENT chunks at exact times; usage gives the counts."""
    server = Server(
        parts=[
            (0.5, sse(text_chunk(""))),
            (0.25, sse(text_chunk("Once"))),
            (0.125, sse(text_chunk(" upon"))),
            (0.125, sse(usage_chunk(4, 2), "[DONE]")),
        ]
    )
    response = await complete(server)
    assert not response.failed, response.error
    assert [(c.kind, c.time, c.chars) for c in response.chunks] == [
        (ChunkKind.CONTENT, 0.75, 4),
        (ChunkKind.CONTENT, 0.875, 5),
    ]
    assert response.time_to_first_token == 0.75
    assert response.time_to_last_token == 1.0
    assert response.response_text == "Once upon"
    assert response.id == "cmpl-1"
    assert (response.num_tokens_input, response.num_tokens_output) == (4, 2)
    assert response.num_tokens_output_source is TokenCountSource.SERVER
    assert server.bodies[0]["stream_options"] == {"include_usage": True}
    assert server.requests[0].url.path == "/v1/completions"


async def test_tokens_per_chunk() -> None:
    """``logprobs.tokens`` or a running usage total give each chunk's tokens."""
    server = Server(
        parts=[
            (0, sse(text_chunk("ab", logprobs={"tokens": ["a", "b"], "token_logprobs": [0, 0]}))),
            (0, sse({**text_chunk("cde"), "usage": {"completion_tokens": 5}})),
            (0, sse({**text_chunk("f"), "usage": {"completion_tokens": 6}}, "[DONE]")),
        ]
    )
    response = await complete(server)
    assert [c.tokens for c in response.chunks] == [2, 5, 1]


async def test_prompt_text() -> None:
    """The prompt (or a batch of prompts) is the input text; token ids give none."""
    prompt_text = OpenAICompletionsEndpoint.prompt_text
    assert prompt_text({"prompt": "Hello"}) == "Hello"
    assert prompt_text({"prompt": ["a", "b"]}) == "a\nb"
    assert prompt_text({"prompt": [1, 2, 3]}) is None
    response = await complete(Server(parts=[(0, sse(text_chunk("x"), "[DONE]"))]))
    assert response.input_prompt == "Say hello"


async def test_plain_answer() -> None:
    """A ``text_completion`` body gives text, id and usage, and no chunks."""
    body = {
        "id": "cmpl-7",
        "choices": [{"text": "Hi there", "index": 0}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2},
    }
    server = Server(parts=[(0, orjson.dumps(body))], headers={"content-type": "application/json"})
    response = await complete(server, OpenAICompletionsEndpoint.create_payload("Hi", stream=False))
    assert response.response_text == "Hi there"
    assert response.id == "cmpl-7"
    assert response.num_tokens_output == 2
    assert response.chunks == []


async def test_error_mid_stream() -> None:
    """An error object mid-stream fails the record and keeps the chunks before it."""
    error = {"error": {"message": "overloaded", "type": "server_error", "code": 503}}
    server = Server(parts=[(0, sse(text_chunk("a"), error, "[DONE]"))])
    response = await complete(server)
    assert response.error_class is ErrorClass.SERVER
    assert "overloaded" in (response.error or "")
    assert len(response.chunks) == 1


def test_create_payload() -> None:
    """The payload is a prompt and max_tokens, plus any fields given."""
    assert OpenAICompletionsEndpoint.create_payload("Hi", 16, temperature=0) == {
        "prompt": "Hi",
        "max_tokens": 16,
        "temperature": 0,
    }
    assert OpenAICompletionsEndpoint.create_payload("Hi", None) == {"prompt": "Hi"}
