"""ConverseStream and Converse, read from the simulated Bedrock's own bytes."""

from __future__ import annotations

import functools

import orjson
import pytest
import trio
from aws_sim import (
    CLAUDE,
    exchange,
    expected_plan,
    feed_pieces,
    fetch,
    read_the_same_when_cut,
    replay,
    summary,
)
from hypothesis import given
from hypothesis import strategies as st
from llmeter_trio_aws import ConverseStreamState, converse_payload, parse_converse_body

from llmeter_trio.endpoints import ChunkKind, ErrorClass
from llmeter_trio.sim import CONTENT_WORD, REASONING_WORD, AppExchange, Faults, SimConfig
from llmeter_trio.sim._eventstream import encode_message, event_message, exception_message

CONFIG = SimConfig(ttft_base=0.3, itl=0.02, output_tokens=6, reasoning_tokens=2)
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
STREAM = f"/model/{CLAUDE.replace(':', '%3A')}/converse-stream"
WHOLE = f"/model/{CLAUDE.replace(':', '%3A')}/converse"


THINKING_PAYLOAD = converse_payload("one two three", additionalModelRequestFields=THINKING)


@functools.cache
def thinking_stream() -> AppExchange:
    """A ConverseStream answer with two reasoning tokens, then four of text."""
    return exchange(CONFIG, STREAM, THINKING_PAYLOAD, "bedrock")


class TestStream:
    async def test_timeline_text_usage_and_stop_follow_the_plan(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Each delta is a chunk at its planned instant; reasoning first; usage and stop reason."""
        planned = expected_plan(CONFIG, input_tokens=3)
        answer = await fetch(CONFIG, STREAM, THINKING_PAYLOAD, "bedrock")
        state, response = await replay(answer, ConverseStreamState)
        assert [c.time for c in response.chunks] == pytest.approx([c.at for c in planned.chunks])
        assert [c.kind for c in response.chunks] == [ChunkKind.REASONING] * 2 + [
            ChunkKind.CONTENT
        ] * 4
        assert response.response_text == CONTENT_WORD * 4
        assert [c.chars for c in response.chunks[:2]] == [len(REASONING_WORD)] * 2
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 6)
        assert response.time_to_first_token == pytest.approx(planned.chunks[0].at)
        assert response.time_to_first_content_token == pytest.approx(planned.chunks[2].at)
        assert response.time_to_last_token == pytest.approx(planned.duration)
        assert state.stop_reason == "end_turn" and state.finished
        assert state.latency_ms == round(planned.duration * 1000)
        assert response.error is None

    def test_max_tokens_stop_reason(self) -> None:
        payload = converse_payload("one two three", max_tokens=3)
        state, response = feed_pieces(
            [exchange(CONFIG, STREAM, payload, "bedrock").body], ConverseStreamState
        )
        assert state.stop_reason == "max_tokens"
        assert response.num_tokens_output == 3 and response.response_text == CONTENT_WORD * 3

    @given(st.lists(st.integers(min_value=1, max_value=2000), max_size=12))
    def test_any_cuts_read_the_same(self, cuts: list[int]) -> None:
        """However the bytes are cut, the same record comes out."""
        read_the_same_when_cut(thinking_stream().body, ConverseStreamState, cuts)

    def test_every_single_cut_reads_the_same(self) -> None:
        body = thinking_stream().body
        read_the_same_when_cut(body, ConverseStreamState)
        _, whole = feed_pieces([body], ConverseStreamState)
        _, bytewise = feed_pieces([body[i : i + 1] for i in range(len(body))], ConverseStreamState)
        assert summary(bytewise) == summary(whole)


class TestStreamFaults:
    @pytest.mark.parametrize(
        ("fault", "error_class", "name"),
        [
            ("stream-429", ErrorClass.THROTTLED, "throttlingException"),
            ("stream-500", ErrorClass.SERVER, "modelStreamErrorException"),
            ("stream-503", ErrorClass.SERVER, "serviceUnavailableException"),
        ],
    )
    def test_simulated_exceptions(self, fault: str, error_class: ErrorClass, name: str) -> None:
        """An exception mid-stream fails the answer with its class; the text so far is kept."""
        config = SimConfig(output_tokens=5, faults=Faults(stream_error_after_chunks=2))
        answer = exchange(config, STREAM, converse_payload("a b"), "bedrock", fault=fault)
        _, response = feed_pieces([answer.body], ConverseStreamState)
        assert response.error_class is error_class
        assert response.error is not None and response.error.startswith(f"{name}: ")
        assert response.response_text == CONTENT_WORD * 2

    @pytest.mark.parametrize(
        ("name", "error_class"),
        [
            ("validationException", ErrorClass.CLIENT),
            ("modelNotReadyException", ErrorClass.SERVER),
            ("internalServerException", ErrorClass.SERVER),
            ("modelTimeoutException", ErrorClass.SERVER),
            ("throttlingException", ErrorClass.THROTTLED),
            ("someNewException", ErrorClass.SERVER),
        ],
    )
    def test_named_exceptions(self, name: str, error_class: ErrorClass) -> None:
        start = event_message("messageStart", b'{"role":"assistant"}')
        error = exception_message(name, b'{"message":"simulated"}')
        _, response = feed_pieces([start + error], ConverseStreamState)
        assert response.error_class is error_class
        assert response.error == f"{name}: simulated"

    def test_protocol_level_error_message(self) -> None:
        headers = [(":message-type", "error"), (":error-code", "InternalFailure"),
                   (":error-message", "boom")]  # fmt: skip
        _, response = feed_pieces([encode_message(headers, b"")], ConverseStreamState)
        assert response.error_class is ErrorClass.SERVER
        assert response.error == "InternalFailure: boom"

    def test_cut_inside_a_message_is_a_connection_error(self) -> None:
        body = thinking_stream().body
        _, response = feed_pieces([body[:-5]], ConverseStreamState)
        assert response.error_class is ErrorClass.CONNECTION

    def test_missing_message_stop_is_a_protocol_error(self) -> None:
        """A stream that ends between messages, before messageStop, was cut short."""
        body = event_message("messageStart", b'{"role":"assistant"}') + event_message(
            "contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"hi"}}'
        )
        _, response = feed_pieces([body], ConverseStreamState)
        assert response.error_class is ErrorClass.PROTOCOL
        assert response.error is not None and "messageStop" in response.error

    def test_corrupt_frame_is_a_protocol_error(self) -> None:
        """A checksum mismatch fails the answer, it does not raise."""
        body = bytearray(thinking_stream().body)
        body[200] ^= 0xFF
        _, response = feed_pieces([bytes(body)], ConverseStreamState)
        assert response.error_class is ErrorClass.PROTOCOL
        assert response.error is not None and "corrupt event stream" in response.error


class TestToolUse:
    def test_tool_name_and_arguments_are_tool_chunks(self) -> None:
        start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "add"}}}
        delta = {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a": 1}'}}}
        body = (
            event_message("messageStart", b'{"role":"assistant"}')
            + event_message("contentBlockStart", orjson.dumps(start))
            + event_message("contentBlockDelta", orjson.dumps(delta))
            + event_message("contentBlockStop", b'{"contentBlockIndex":0}')
            + event_message("messageStop", b'{"stopReason":"tool_use"}')
        )
        state, response = feed_pieces([body], ConverseStreamState)
        assert [(c.kind, c.chars) for c in response.chunks] == [
            (ChunkKind.TOOL, 3),
            (ChunkKind.TOOL, 8),
        ]
        assert state.stop_reason == "tool_use" and response.error is None


class TestBody:
    def test_whole_answer(self) -> None:
        answer = exchange(CONFIG, WHOLE, converse_payload("one two three"), "bedrock")
        parsed = parse_converse_body(answer.body)
        response = parsed.response()
        assert response.response_text == CONTENT_WORD * 6  # no thinking asked for
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 6)
        assert parsed.stop_reason == "end_turn"

    def test_reasoning_is_not_response_text(self) -> None:
        payload = converse_payload("one two three", additionalModelRequestFields=THINKING)
        parsed = parse_converse_body(exchange(CONFIG, WHOLE, payload, "bedrock").body)
        assert parsed.response().response_text == CONTENT_WORD * 4

    @pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
    def test_not_an_answer(self, body: bytes) -> None:
        assert parse_converse_body(body).response().error_class is ErrorClass.PROTOCOL
