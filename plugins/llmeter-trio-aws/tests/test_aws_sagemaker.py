"""InvokeEndpointWithResponseStream and InvokeEndpoint: TGI and chat containers."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trio
from aws_sim import cut, exchange, expected_plan, feed_pieces, fetch, read_the_same_when_cut, replay
from hypothesis import given
from hypothesis import strategies as st
from llmeter_trio_aws import (
    FORMATS,
    EventStreamDecoder,
    JsonLines,
    PathReader,
    SageMakerStreamState,
    parse_model_body,
    sagemaker_chat_payload,
    sagemaker_tgi_payload,
)

from llmeter_trio.endpoints import ChunkKind, ErrorClass
from llmeter_trio.sim import CONTENT_WORD, REASONING_WORD, AppExchange, Faults, SimConfig
from llmeter_trio.sim._eventstream import event_message

CONFIG = SimConfig(ttft_base=0.25, itl=0.05, output_tokens=6, tokens_per_chunk=2)
STREAM = "/endpoints/tgi/invocations-response-stream"
WHOLE = "/endpoints/tgi/invocations"
TGI = sagemaker_tgi_payload("one two three", 100, stream=True)


def reading(container: str) -> Any:
    reader = PathReader(FORMATS[container].stream)
    return lambda recorder: SageMakerStreamState(recorder, reader)


@functools.cache
def tgi_stream() -> AppExchange:
    return exchange(CONFIG, STREAM, TGI, "sagemaker")


def parts(*pieces: bytes) -> bytes:
    """``PayloadPart`` events carrying `pieces`."""
    return b"".join(event_message("PayloadPart", p, "application/octet-stream") for p in pieces)


class TestTgi:
    async def test_stream_follows_the_plan(self, autojump_clock: trio.testing.MockClock) -> None:
        """One chunk per token event, at its part's instant; counts and finish from details."""
        planned = expected_plan(CONFIG, input_tokens=3, token_cap=100)
        answer = await fetch(CONFIG, STREAM, TGI, "sagemaker")
        state, response = await replay(answer, reading("tgi"))
        expected = [pytest.approx(c.at) for c in planned.chunks for _ in range(c.tokens)]
        assert [c.time for c in response.chunks] == expected
        assert [c.tokens for c in response.chunks] == [1] * 6
        assert response.response_text == CONTENT_WORD * 6
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 6)
        assert state.stop_reason == "eos_token"

    @given(st.lists(st.integers(min_value=0, max_value=5000), max_size=12))
    def test_any_cuts_read_the_same(self, cuts: list[int]) -> None:
        read_the_same_when_cut(tgi_stream().body, reading("tgi"), cuts)

    def test_every_single_cut_reads_the_same(self) -> None:
        read_the_same_when_cut(tgi_stream().body, reading("tgi"))

    def test_lines_cut_across_payload_parts(self) -> None:
        """A container's flush may end mid-line: the line is read once complete."""
        raw = b"".join(p for _, p in _tgi_payloads())
        for at in range(1, len(raw)):
            _, response = feed_pieces([parts(raw[:at], raw[at:])], reading("tgi"))
            assert response.response_text == CONTENT_WORD * 6 and response.error is None, at

    def test_max_new_tokens_and_whole_answer(self) -> None:
        body = sagemaker_tgi_payload("a b c", 3)
        parsed = parse_model_body(exchange(CONFIG, WHOLE, body, "sagemaker").body, FORMATS["tgi"])
        response = parsed.response()
        assert response.response_text == CONTENT_WORD * 3
        assert (response.num_tokens_input, response.num_tokens_output) == (3, 3)
        assert parsed.stop_reason == "length"

    def test_lmi_style_whole_answer(self) -> None:
        """LMI answers with one object, not TGI's one-element list."""
        parsed = parse_model_body(b'{"generated_text": "hi"}', FORMATS["tgi"])
        assert parsed.response().response_text == "hi"

    def test_jsonlines_stream(self) -> None:
        """LMI's jsonlines output: one JSON object per line, no ``data:``."""
        lines = (
            b'{"token": {"id": 1, "text": "Hel"}}\n{"token": {"id": 2, "text": "lo"}}\n'
            b'{"token": {"id": 3, "text": ""}, "details": {"finish_reason": "length", '
            b'"generated_tokens": 2}}'  # the last line without its newline
        )
        state, response = feed_pieces([parts(lines)], reading("tgi"))
        assert response.response_text == "Hello" and response.num_tokens_output == 2
        assert state.stop_reason == "length" and response.error is None

    def test_error_event_from_the_container(self) -> None:
        body = parts(
            b'data:{"error":"Request failed during generation","error_type":"generation"}\n\n'
        )
        _, response = feed_pieces([body], reading("tgi"))
        assert response.error_class is ErrorClass.SERVER
        assert response.error is not None and "Request failed" in response.error


def _tgi_payloads() -> list[tuple[str, bytes]]:
    """The PayloadParts of the TGI stream: (event type, the container's bytes)."""
    events = EventStreamDecoder().feed(tgi_stream().body)
    return [(e.event_type or "", e.payload) for e in events]


class TestChat:
    async def test_stream_reasoning_text_usage_done(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An LMI or vLLM container's chat chunks: reasoning, content, usage, [DONE]."""
        config = SimConfig(ttft_base=0.1, itl=0.01, output_tokens=5, reasoning_tokens=2)
        body = sagemaker_chat_payload("one two", 5, stream=True)
        planned = expected_plan(config, input_tokens=2, max_tokens=5)
        answer = await fetch(
            config, "/endpoints/lmi/invocations-response-stream", body, "sagemaker"
        )
        state, response = await replay(answer, reading("openai"))
        assert [c.time for c in response.chunks] == pytest.approx([c.at for c in planned.chunks])
        assert [c.kind for c in response.chunks] == [ChunkKind.REASONING] * 2 + [
            ChunkKind.CONTENT
        ] * 3
        assert response.chunks[0].chars == len(REASONING_WORD)
        assert response.response_text == CONTENT_WORD * 3
        assert (response.num_tokens_input, response.num_tokens_output) == (2, 5)
        assert response.num_tokens_output_reasoning == 2
        assert state.stop_reason == "length" and state.finished

    def test_whole_answer(self) -> None:
        body = sagemaker_chat_payload("one two", 4)
        answer = exchange(CONFIG, "/endpoints/lmi/invocations", body, "sagemaker")
        parsed = parse_model_body(answer.body, FORMATS["openai"])
        response = parsed.response()
        assert response.response_text == CONTENT_WORD * 4
        assert (response.num_tokens_input, response.num_tokens_output) == (2, 4)
        assert response.id is not None and parsed.stop_reason == "length"

    def test_error_chunk_with_an_http_code(self) -> None:
        """vLLM reports a failure mid-stream as a chunk with an ``error`` object."""
        error = b'data: {"error":{"message":"too long","type":"BadRequestError","code":400}}\n\n'
        _, response = feed_pieces([parts(error)], reading("openai"))
        assert response.error_class is ErrorClass.CLIENT
        assert response.error == "BadRequestError: too long"

    def test_done_without_finish_reason_is_complete(self) -> None:
        body = parts(b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', b"data: [DONE]\n\n")
        state, response = feed_pieces([body], reading("openai"))
        assert response.error is None and state.finished


class TestFaults:
    @pytest.mark.parametrize(
        ("fault", "error_class"),
        [("stream-500", ErrorClass.SERVER), ("stream-429", ErrorClass.THROTTLED)],
    )
    def test_model_stream_error(self, fault: str, error_class: ErrorClass) -> None:
        """A ModelStreamError mid-stream, classed by its ErrorCode; the text so far kept."""
        config = SimConfig(output_tokens=4, faults=Faults(stream_error_after_chunks=2))
        answer = exchange(config, STREAM, TGI, "sagemaker", fault=fault)
        _, response = feed_pieces([answer.body], reading("tgi"))
        assert response.error_class is error_class
        assert response.error is not None and response.error.startswith("ModelStreamError: ")
        assert response.response_text == CONTENT_WORD * 2

    def test_stream_without_finish(self) -> None:
        body = parts(b'data:{"token":{"text":"a"}}\n\n')
        _, response = feed_pieces([body], reading("tgi"))
        assert response.error_class is ErrorClass.PROTOCOL

    def test_line_that_is_not_json(self) -> None:
        _, response = feed_pieces([parts(b"data: {oops\n\n")], reading("tgi"))
        assert response.error_class is ErrorClass.PROTOCOL


class TestJsonLines:
    @given(st.lists(st.integers(min_value=0, max_value=200), max_size=10))
    def test_cuts_do_not_change_the_lines(self, cuts: list[int]) -> None:
        raw = (
            b'data:{"a":1}\n\n: comment\nevent: x\ndata: {"b":2}\r\n\r\n{"c":3}\n'
            b"id: 7\nretry: 10\ndata: [DONE]\n\n"
        )
        lines = JsonLines()
        out = [
            text for piece in cut(raw, [c % len(raw) for c in cuts]) for text in lines.feed(piece)
        ]
        assert out == [b'{"a":1}', b'{"b":2}', b'{"c":3}', b"[DONE]"]
        assert not lines.pending
