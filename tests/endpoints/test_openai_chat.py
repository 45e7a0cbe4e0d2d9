"""`OpenAIChatEndpoint`: streamed chunks, timings on a mock clock, usage, errors, plain answers."""

from __future__ import annotations

import itertools

import httpx
import orjson
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio.endpoints import (
    ChunkKind,
    ErrorClass,
    InvocationResponse,
    OpenAIChatEndpoint,
    TokenCountSource,
)

from ._openai_support import (
    Server,
    TimedStream,
    chat_chunk,
    invoke_with,
    sse,
    usage_chunk,
)

CONTENT, REASONING, TOOL = ChunkKind.CONTENT, ChunkKind.REASONING, ChunkKind.TOOL


async def chat(server: Server, payload: dict | None = None, **options) -> InvocationResponse:
    return await invoke_with(OpenAIChatEndpoint, server, payload, **options)


def kinds_times_chars(response: InvocationResponse) -> list[tuple[ChunkKind, float, int]]:
    return [(c.kind, c.time, c.chars) for c in response.chunks]


class TestStreamTimings:
    """Chunk times, first-token times and inter-token gaps are exact on a mock clock."""

    async def test_content_stream(self, autojump_clock: trio.abc.Clock) -> None:
        """TTFT counts from the hand-over to the transport; the end is the end of the body."""
        server = Server(
            headers_delay=0.25,
            parts=[
                (0.25, sse(chat_chunk(role="assistant", content=""))),
                (0.125, sse(chat_chunk("Hello"))),
                (0.0625, sse(chat_chunk(" wor"))),
                (0.0625, sse(chat_chunk("ld!"))),
                (0.125, sse(usage_chunk(5, 3), "[DONE]")),
            ],
        )
        response = await chat(server)
        assert not response.failed, response.error
        assert kinds_times_chars(response) == [
            (CONTENT, 0.625, 5),
            (CONTENT, 0.6875, 4),
            (CONTENT, 0.75, 3),
        ]
        assert response.time_to_first_token == 0.625
        assert response.time_to_first_content_token == 0.625
        assert response.time_to_last_token == 0.875
        assert response.inter_token_latencies() == [0.0625, 0.0625]
        assert response.time_per_output_token == (0.875 - 0.625) / 2
        assert response.response_text == "Hello world!"

    @pytest.mark.parametrize("reasoning_key", ["reasoning_content", "reasoning"])
    async def test_reasoning_first(
        self, autojump_clock: trio.abc.Clock, reasoning_key: str
    ) -> None:
        """The first token is the first reasoning chunk; the first content token comes later."""
        server = Server(
            parts=[
                (0.25, sse(chat_chunk(reasoning="Let me", reasoning_key=reasoning_key))),
                (0.125, sse(chat_chunk(reasoning=" think.", reasoning_key=reasoning_key))),
                (0.5, sse(chat_chunk("Yes"))),
                (0.125, sse(chat_chunk("."))),
                (0, sse(usage_chunk(4, 9, reasoning=7), "[DONE]")),
            ]
        )
        response = await chat(server)
        assert kinds_times_chars(response) == [
            (REASONING, 0.25, 6),
            (REASONING, 0.375, 7),
            (CONTENT, 0.875, 3),
            (CONTENT, 1.0, 1),
        ]
        assert response.time_to_first_token == 0.25
        assert response.time_to_first_content_token == 0.875
        assert response.response_text == "Yes."  # reasoning is not part of the answer
        assert response.num_tokens_output_reasoning == 7
        # 9 output tokens, 7 of them reasoning: 1 decode gap after the first content token
        assert response.time_per_output_token == 1.0 - 0.875

    async def test_chunks_carrying_several_tokens(self, autojump_clock: trio.abc.Clock) -> None:
        """A running usage total on each chunk gives each chunk's tokens; gaps split evenly."""
        server = Server(
            parts=[
                (0.5, sse(chat_chunk("ab", usage={"completion_tokens": 2}))),
                (0.375, sse(chat_chunk("cde", usage={"completion_tokens": 5}))),
                (0.25, sse(chat_chunk("f", usage={"completion_tokens": 6}))),
                (0, sse(usage_chunk(3, 6), "[DONE]")),
            ]
        )
        response = await chat(server)
        assert [c.tokens for c in response.chunks] == [2, 3, 1]
        assert response.inter_token_latencies() == [0.125, 0.125, 0.125, 0.25]
        assert response.num_tokens_output == 6

    async def test_tokens_from_logprobs(self, autojump_clock: trio.abc.Clock) -> None:
        """With logprobs, a chunk's tokens are its logprob entries."""
        two = {"content": [{"token": "a", "logprob": -0.1}, {"token": "b", "logprob": -0.2}]}
        one = {"content": [{"token": "c", "logprob": -0.3}]}
        server = Server(
            parts=[
                (0.5, sse(chat_chunk("ab", logprobs=two))),
                (0.25, sse(chat_chunk("c", logprobs=one), "[DONE]")),
            ]
        )
        response = await chat(server)
        assert [c.tokens for c in response.chunks] == [2, 1]

    async def test_several_events_in_one_read(self, autojump_clock: trio.abc.Clock) -> None:
        """Events that arrive together are chunks at the same time; none are lost."""
        together = sse(chat_chunk("a"), chat_chunk("b"), chat_chunk("c"), "[DONE]")
        response = await chat(Server(parts=[(0.5, together)]))
        assert kinds_times_chars(response) == [(CONTENT, 0.5, 1)] * 3
        assert response.response_text == "abc"


class TestStreamContent:
    """What each kind of delta records, and what records nothing."""

    async def test_tool_call_deltas(self) -> None:
        """Tool-call names and argument pieces are TOOL chunks sized by their characters."""

        def arguments(piece: str) -> list[dict]:
            return [{"index": 0, "function": {"arguments": piece}}]

        first = [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ]
        server = Server(
            parts=[
                (0, sse(chat_chunk(role="assistant", content=None))),
                (0, sse(chat_chunk(tool_calls=first))),
                (0, sse(chat_chunk(tool_calls=arguments('{"city')))),
                (0, sse(chat_chunk(tool_calls=arguments('": "P"}')))),
                (0, sse(chat_chunk(tool_calls=arguments("")))),
                (0, sse(usage_chunk(10, 12), "[DONE]")),
            ]
        )
        response = await chat(server)
        assert [(c.kind, c.chars) for c in response.chunks] == [(TOOL, 11), (TOOL, 6), (TOOL, 7)]
        assert response.response_text == ""
        assert response.time_to_first_content_token is None
        assert response.time_to_first_token == response.chunks[0].time

    async def test_empty_and_role_only_chunks_record_nothing(self) -> None:
        """Role-only deltas, empty content, empty deltas and choice-less chunks are not chunks."""
        server = Server(
            parts=[
                (0, sse(chat_chunk(role="assistant"))),
                (0, sse(chat_chunk(""))),
                (0, sse(chat_chunk())),
                (0, sse({"id": "x", "choices": [{"index": 0}]})),
                (0, sse(chat_chunk("only"))),
                (0, sse(chat_chunk(choices=False), "[DONE]")),
            ]
        )
        response = await chat(server)
        assert [(c.kind, c.chars) for c in response.chunks] == [(CONTENT, 4)]

    async def test_refusal_is_content(self) -> None:
        """A refusal is what the user sees: content."""
        refusal = {"id": "r", "choices": [{"index": 0, "delta": {"refusal": "No."}}]}
        response = await chat(Server(parts=[(0, sse(refusal, "[DONE]"))]))
        assert [(c.kind, c.chars) for c in response.chunks] == [(CONTENT, 3)]
        assert response.response_text == "No."

    async def test_usage_only_final_chunk(self) -> None:
        """Token counts (and cached, reasoning) come from the usage chunk, marked SERVER."""
        server = Server(
            parts=[(0, sse(chat_chunk("hi"), usage_chunk(11, 2, reasoning=0, cached=8), "[DONE]"))]
        )
        response = await chat(server)
        assert (response.num_tokens_input, response.num_tokens_output) == (11, 2)
        assert response.num_tokens_input_cached == 8
        assert response.num_tokens_output_reasoning == 0
        assert response.num_tokens_input_source is TokenCountSource.SERVER
        assert response.num_tokens_output_source is TokenCountSource.SERVER

    async def test_no_usage_leaves_counts_to_the_tokenizer(self) -> None:
        """Without usage, counts stay None (the run's tokenizer fills them)."""
        response = await chat(Server(parts=[(0, sse(chat_chunk("hi"), "[DONE]"))]))
        assert response.num_tokens_input is None
        assert response.num_tokens_output is None
        assert response.num_tokens_input_source is None
        assert response.num_tokens_output_source is None

    async def test_record_fields(self) -> None:
        """id, input payload (as sent), prompt text and status are filled."""
        server = Server(parts=[(0, sse(chat_chunk("hi"), "[DONE]"))])
        payload = {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "x"}]},
            ]
        }
        response = await chat(server, payload)
        assert response.id == "chatcmpl-1"
        assert response.input_payload == server.bodies[0]
        assert response.input_prompt == "Be brief.\nHi"
        assert response.status_code == 200
        assert response.send_time is not None

    async def test_stream_is_read_past_done_and_closed(self) -> None:
        """The body is read to its end, even after [DONE], so the connection is reusable."""
        server = Server(parts=[(0, sse(chat_chunk("a"), "[DONE]")), (0, b": trailing\n\n")])
        response = await chat(server)
        assert not response.failed
        assert server.streams[0].consumed
        assert server.streams[0].closed


class TestStreamErrors:
    """Errors in or around a stream become classified records that keep what was measured."""

    async def test_error_object_mid_stream(self) -> None:
        """An ``error`` member in a chunk fails the record; earlier chunks stay; it drains."""
        error = {"error": {"message": "The server had an error", "type": "server_error"}}
        server = Server(
            parts=[(0, sse(chat_chunk("a"))), (0, sse(error)), (0, sse(chat_chunk("b"), "[DONE]"))]
        )
        response = await chat(server)
        assert response.error_class is ErrorClass.SERVER
        assert response.error == "server_error: The server had an error"
        assert [c.chars for c in response.chunks] == [1]
        assert response.status_code == 200
        assert server.streams[0].consumed

    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            ({"message": "slow down", "code": "rate_limit_exceeded"}, ErrorClass.THROTTLED),
            ({"message": "too long", "type": "invalid_request_error"}, ErrorClass.CLIENT),
            ({"message": "bad", "code": 400}, ErrorClass.CLIENT),
            ({"message": "busy", "code": 503}, ErrorClass.SERVER),
            ({"message": "?"}, ErrorClass.SERVER),
        ],
    )
    async def test_error_event(self, error: dict, expected: ErrorClass) -> None:
        """An ``event: error`` is classified by its code or type."""
        server = Server(parts=[(0, sse(chat_chunk("a")) + sse(error, event="error"))])
        response = await chat(server)
        assert response.error_class is expected
        assert error["message"] in (response.error or "")

    @pytest.mark.parametrize(
        ("status", "expected"),
        [(429, ErrorClass.THROTTLED), (500, ErrorClass.SERVER), (503, ErrorClass.SERVER),
         (400, ErrorClass.CLIENT), (401, ErrorClass.CLIENT), (404, ErrorClass.CLIENT)],
    )  # fmt: skip
    async def test_http_error_status(self, status: int, expected: ErrorClass) -> None:
        """A non-success answer keeps its status and body text, classified by status."""
        body = orjson.dumps({"error": {"message": "nope", "type": "x"}})
        server = Server(
            parts=[(0, body)], status=status, headers={"content-type": "application/json"}
        )
        response = await chat(server)
        assert response.status_code == status
        assert response.error_class is expected
        assert response.error is not None
        assert response.error.startswith(f"HTTP {status}")
        assert '"message":"nope"' in response.error
        assert server.streams[0].consumed

    async def test_long_error_body_is_truncated(self) -> None:
        """Only about 2 kB of an error body is kept."""
        server = Server(parts=[(0, b"x" * 100_000)], status=502, headers={})
        response = await chat(server)
        assert response.error is not None
        assert 2048 <= len(response.error) < 2200
        assert response.error.endswith("…")

    @pytest.mark.parametrize(
        "exc",
        [
            httpx.RemoteProtocolError("peer closed connection without sending complete body"),
            httpx.ReadError("connection reset"),
        ],
    )
    async def test_connection_dropped_mid_stream(self, autojump_clock, exc) -> None:
        """A stream that breaks off is a CONNECTION error that keeps its chunks and timings."""
        server = Server(
            parts=[(0.5, sse(chat_chunk("ab"))), (0.25, sse(chat_chunk("c"))), (0.125, exc)]
        )
        response = await chat(server)
        assert response.error_class is ErrorClass.CONNECTION
        assert type(exc).__name__ in (response.error or "")
        assert kinds_times_chars(response) == [(CONTENT, 0.5, 2), (CONTENT, 0.75, 1)]
        assert response.time_to_first_token == 0.5
        assert response.time_to_last_token == 0.875
        assert response.response_text == "abc"

    async def test_stream_ending_mid_event(self) -> None:
        """A body that ends cleanly before an event's blank line is a PROTOCOL error:
        the connection did its job, the server broke the event stream format."""
        server = Server(parts=[(0, sse(chat_chunk("a")) + b'data: {"choices": [')])
        response = await chat(server)
        assert response.error_class is ErrorClass.PROTOCOL
        assert "never ended by a blank line" in (response.error or "")
        assert [c.chars for c in response.chunks] == [1]

    async def test_invalid_json_chunk(self) -> None:
        """A chunk that is not JSON is a PROTOCOL error; chunks before it stay."""
        server = Server(parts=[(0, sse(chat_chunk("a"), "{not json", chat_chunk("b"), "[DONE]"))])
        response = await chat(server)
        assert response.error_class is ErrorClass.PROTOCOL
        assert "{not json" in (response.error or "")
        assert [c.chars for c in response.chunks] == [1]

    async def test_chunk_that_is_not_an_object(self) -> None:
        """JSON that is not an object is a PROTOCOL error too."""
        response = await chat(Server(parts=[(0, sse("[1, 2]", "[DONE]"))]))
        assert response.error_class is ErrorClass.PROTOCOL

    async def test_connect_error(self) -> None:
        """A request that cannot connect is a CONNECTION error with no status."""

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        response = await chat(Server(refuse))
        assert response.error_class is ErrorClass.CONNECTION
        assert response.status_code is None
        assert "ConnectError" in (response.error or "")
        assert response.chunks == []


class TestNotStreaming:
    """``stream: false`` answers are one JSON object; they have no first-token times."""

    async def test_plain_answer(self, autojump_clock: trio.abc.Clock) -> None:
        """Text, id and usage come from the body; the end is when the body was read."""
        body = {
            "id": "chatcmpl-9",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi!", "reasoning_content": "hm"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": 5,
                "completion_tokens_details": {"reasoning_tokens": 2},
            },
        }
        server = Server(
            headers_delay=0.5,
            parts=[(0.25, orjson.dumps(body))],
            headers={"content-type": "application/json"},
        )
        payload = OpenAIChatEndpoint.create_payload("Hi", stream=False)
        response = await chat(server, payload)
        assert "stream_options" not in server.bodies[0]
        assert server.bodies[0]["stream"] is False
        assert response.response_text == "Hi!"
        assert response.id == "chatcmpl-9"
        assert (response.num_tokens_input, response.num_tokens_output) == (7, 5)
        assert response.num_tokens_output_reasoning == 2
        assert response.chunks == []
        assert response.time_to_first_token is None
        assert response.time_to_last_token == 0.75

    async def test_json_answer_to_a_streaming_request(self) -> None:
        """A server that ignores ``stream`` and answers JSON is still read correctly."""
        body = {"id": "c", "choices": [{"message": {"content": "ok"}}]}
        server = Server(
            parts=[(0, orjson.dumps(body))], headers={"content-type": "application/json"}
        )
        response = await chat(server)
        assert not response.failed
        assert response.response_text == "ok"

    async def test_error_in_a_200_body(self) -> None:
        """An error object in a success answer is an error record."""
        body = {"error": {"message": "quota", "code": "insufficient_quota"}}
        server = Server(
            parts=[(0, orjson.dumps(body))], headers={"content-type": "application/json"}
        )
        response = await chat(server, OpenAIChatEndpoint.create_payload("Hi", stream=False))
        assert response.error_class is ErrorClass.THROTTLED

    async def test_body_that_is_not_json(self) -> None:
        """A body that is not JSON is a PROTOCOL error quoting it."""
        server = Server(parts=[(0, b"<html>oops</html>")], headers={"content-type": "text/html"})
        response = await chat(server, OpenAIChatEndpoint.create_payload("Hi", stream=False))
        assert response.error_class is ErrorClass.PROTOCOL
        assert "<html>oops</html>" in (response.error or "")


@settings(max_examples=30, deadline=None)
@given(st.data())
async def test_any_split_of_the_body_gives_the_same_record(data: st.DataObject) -> None:
    """However the body is cut into reads, text, chunk kinds and sizes and usage are the same."""
    stream = sse(
        chat_chunk(role="assistant", content=""),
        chat_chunk(reasoning="th\u2028ink"),
        chat_chunk("H\u00e9llo"),
        chat_chunk(" w\u2029rld 😀"),
        usage_chunk(3, 4, reasoning=1),
        "[DONE]",
    ).replace(b"\n", data.draw(st.sampled_from([b"\n", b"\r\n"])))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    bounds = [0, *cuts, len(stream)]
    server = Server(parts=[(0, stream[a:b]) for a, b in itertools.pairwise(bounds)])
    response = await chat(server)
    assert not response.failed, response.error
    assert response.response_text == "H\u00e9llo w\u2029rld 😀"
    assert [(c.kind, c.chars) for c in response.chunks] == [
        (REASONING, 6),
        (CONTENT, 5),
        (CONTENT, 8),
    ]
    assert (response.num_tokens_input, response.num_tokens_output) == (3, 4)


async def test_timed_stream_helper_sleeps_on_the_trio_clock(autojump_clock) -> None:
    """The test stream's delays are real trio sleeps (so the timing tests above mean something)."""
    stream = TimedStream([(1.5, b"a"), (0.25, b"b")])
    start = trio.current_time()
    times = [trio.current_time() - start async for _ in stream]
    assert times == [1.5, 1.75]
