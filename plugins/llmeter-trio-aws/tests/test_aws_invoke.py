"""InvokeModel and InvokeModelWithResponseStream, per model family."""

from __future__ import annotations

import base64
import functools
from typing import Any

import orjson
import pytest
import trio
from aws_sim import (
    CLAUDE,
    LLAMA,
    exchange,
    expected_plan,
    feed_pieces,
    fetch,
    read_the_same_when_cut,
    replay,
)
from hypothesis import given
from hypothesis import strategies as st
from llmeter_trio_aws import (
    FORMATS,
    InvokeStreamState,
    PathReader,
    format_for_model,
    invoke_payload,
    model_format,
    parse_model_body,
)

from llmeter_trio.endpoints import ChunkKind, ErrorClass, StreamRecorder
from llmeter_trio.sim import CONTENT_WORD, AppExchange, Faults, SimConfig
from llmeter_trio.sim._eventstream import event_message

CONFIG = SimConfig(ttft_base=0.3, itl=0.02, output_tokens=6, reasoning_tokens=2)
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
CLAUDE_THINKING = invoke_payload("anthropic", "one two", 100, **THINKING)
LLAMA_CAPPED = invoke_payload("meta", "a b c d", 3)


def stream_path(model: str) -> str:
    return f"/model/{model.replace(':', '%3A')}/invoke-with-response-stream"


def whole_path(model: str) -> str:
    return f"/model/{model.replace(':', '%3A')}/invoke"


def reading(family: str) -> Any:
    """A state factory for `family`'s chunks (the reader made once, as an endpoint would)."""
    reader = PathReader(FORMATS[family].stream)
    return lambda recorder: InvokeStreamState(recorder, reader)


@functools.cache
def claude_stream() -> AppExchange:
    return exchange(CONFIG, stream_path(CLAUDE), CLAUDE_THINKING, "bedrock")


def chunks(*objects: dict[str, Any]) -> bytes:
    """``chunk`` events carrying `objects`, as InvokeModelWithResponseStream sends them."""
    return b"".join(
        event_message("chunk", orjson.dumps({"bytes": base64.b64encode(orjson.dumps(o)).decode()}))
        for o in objects
    )


class TestAnthropic:
    async def test_stream_follows_the_plan(self, autojump_clock: trio.testing.MockClock) -> None:
        """Thinking then text deltas at their instants; counts from the invocation metrics."""
        planned = expected_plan(CONFIG, input_tokens=2, token_cap=100)
        answer = await fetch(CONFIG, stream_path(CLAUDE), CLAUDE_THINKING, "bedrock")
        state, response = await replay(answer, reading("anthropic"))
        assert [c.time for c in response.chunks] == pytest.approx([c.at for c in planned.chunks])
        assert [c.kind for c in response.chunks] == [ChunkKind.REASONING] * 2 + [
            ChunkKind.CONTENT
        ] * 4
        assert response.response_text == CONTENT_WORD * 4
        assert (response.num_tokens_input, response.num_tokens_output) == (2, 6)
        assert response.id is not None and response.id.startswith("msg_bdrk_")
        assert state.stop_reason == "end_turn"
        assert response.time_to_last_token == pytest.approx(planned.duration)

    @given(st.lists(st.integers(min_value=0, max_value=5000), max_size=12))
    def test_any_cuts_read_the_same(self, cuts: list[int]) -> None:
        read_the_same_when_cut(claude_stream().body, reading("anthropic"), cuts)

    def test_every_single_cut_reads_the_same(self) -> None:
        read_the_same_when_cut(claude_stream().body, reading("anthropic"))

    def test_usage_from_the_stream_without_metrics(self) -> None:
        """Without Bedrock's metrics, the counts come from message_start and message_delta."""
        body = chunks(
            {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 7}}},
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 1},
            },
            {"type": "message_stop"},
        )
        state, response = feed_pieces([body], reading("anthropic"))
        assert (response.num_tokens_input, response.num_tokens_output) == (7, 1)
        assert response.response_text == "hi" and state.stop_reason == "end_turn"

    def test_whole_answer(self) -> None:
        answer = exchange(CONFIG, whole_path(CLAUDE), CLAUDE_THINKING, "bedrock")
        parsed = parse_model_body(answer.body, FORMATS["anthropic"])
        response = parsed.response()
        assert response.response_text == CONTENT_WORD * 4  # the thinking block is not text
        assert (response.num_tokens_input, response.num_tokens_output) == (2, 6)
        assert parsed.stop_reason == "end_turn"

    def test_exception_mid_stream(self) -> None:
        config = SimConfig(output_tokens=5, faults=Faults(stream_error_after_chunks=1))
        answer = exchange(
            config, stream_path(CLAUDE), CLAUDE_THINKING, "bedrock", fault="stream-500"
        )
        _, response = feed_pieces([answer.body], reading("anthropic"))
        assert response.error_class is ErrorClass.SERVER
        assert response.error is not None and "modelStreamErrorException" in response.error


class TestLlama:
    async def test_stream_tokens_per_chunk_from_running_totals(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """``generation_token_count`` is a running total: each chunk's tokens are known."""
        config = SimConfig(ttft_base=0.2, itl=0.05, output_tokens=6, tokens_per_chunk=2)
        planned = expected_plan(config, input_tokens=4, token_cap=3)
        answer = await fetch(config, stream_path(LLAMA), LLAMA_CAPPED, "bedrock")
        state, response = await replay(answer, reading("meta"))
        assert [(c.time, c.tokens) for c in response.chunks] == [
            (pytest.approx(c.at), c.tokens) for c in planned.chunks
        ]
        assert response.response_text == CONTENT_WORD * 3
        assert (response.num_tokens_input, response.num_tokens_output) == (4, 3)
        assert state.stop_reason == "length"

    def test_whole_answer(self) -> None:
        answer = exchange(CONFIG, whole_path(LLAMA), LLAMA_CAPPED, "bedrock")
        parsed = parse_model_body(answer.body, FORMATS["meta"])
        response = parsed.response()
        assert response.response_text == CONTENT_WORD * 3
        assert (response.num_tokens_input, response.num_tokens_output) == (4, 3)
        assert parsed.stop_reason == "length"


METRICS = {"amazon-bedrock-invocationMetrics": {"inputTokenCount": 5, "outputTokenCount": 2}}


class TestOtherFamilies:
    """Each preset reads its family's chunks as the model's documentation shows them."""

    @pytest.mark.parametrize(
        ("family", "objects", "stop"),
        [
            (
                "titan",
                [
                    {"outputText": "Hel", "index": 0, "totalOutputTextTokenCount": 1},
                    {"outputText": "lo", "index": 0, "completionReason": "FINISH", **METRICS},
                ],
                "FINISH",
            ),
            (
                "nova",
                [
                    {"messageStart": {"role": "assistant"}},
                    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
                    {"contentBlockDelta": {"delta": {"text": "lo"}, "contentBlockIndex": 0}},
                    {"contentBlockStop": {"contentBlockIndex": 0}},
                    {"messageStop": {"stopReason": "end_turn"}},
                    {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 2}}},
                ],
                "end_turn",
            ),
            (
                "mistral",
                [
                    {"outputs": [{"text": "Hel", "stop_reason": None}]},
                    {"outputs": [{"text": "lo", "stop_reason": "stop"}], **METRICS},
                ],
                "stop",
            ),
            (
                "cohere",
                [
                    {"is_finished": False, "event_type": "stream-start", "generation_id": "g1"},
                    {"is_finished": False, "event_type": "text-generation", "text": "Hel"},
                    {"is_finished": False, "event_type": "text-generation", "text": "lo"},
                    {
                        "is_finished": True,
                        "event_type": "stream-end",
                        "finish_reason": "COMPLETE",
                        "response": {
                            "meta": {"billed_units": {"input_tokens": 5, "output_tokens": 2}}
                        },
                    },
                ],
                "COMPLETE",
            ),
            (
                "openai",
                [
                    {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
                    {"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "hm"}}]},
                    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
                    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
                    {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {
                        "id": "c1",
                        "choices": [],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
                    },
                ],
                "stop",
            ),
        ],
    )
    def test_stream_preset(self, family: str, objects: list[dict[str, Any]], stop: str) -> None:
        state, response = feed_pieces([chunks(*objects)], reading(family))
        assert response.error is None
        assert response.response_text == "Hello"
        assert (response.num_tokens_input, response.num_tokens_output) == (5, 2)
        assert state.stop_reason == stop
        content = [c.chars for c in response.chunks if c.kind is ChunkKind.CONTENT]
        assert content == [3, 2]

    def test_nova_whole_answer(self) -> None:
        body = {
            "output": {
                "message": {"role": "assistant", "content": [{"text": "Hel"}, {"text": "lo"}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 5, "outputTokens": 2},
        }
        parsed = parse_model_body(orjson.dumps(body), model_format("nova"))
        assert parsed.response().response_text == "Hello" and parsed.stop_reason == "end_turn"

    def test_titan_whole_answer(self) -> None:
        body = {
            "inputTextTokenCount": 5,
            "results": [{"tokenCount": 2, "outputText": "Hello", "completionReason": "FINISH"}],
        }
        response = parse_model_body(orjson.dumps(body), FORMATS["titan"]).response()
        assert (response.response_text, response.num_tokens_input, response.num_tokens_output) == (
            "Hello",
            5,
            2,
        )


class TestStreamProblems:
    def test_no_stop_reason_is_a_protocol_error(self) -> None:
        body = chunks({"generation": "a", "generation_token_count": 1, "stop_reason": None})
        _, response = feed_pieces([body], reading("meta"))
        assert response.error_class is ErrorClass.PROTOCOL
        assert response.response_text == "a"

    def test_a_chunk_that_is_not_base64_json(self) -> None:
        body = event_message("chunk", b'{"bytes": "%%%"}')
        _, response = feed_pieces([body], reading("meta"))
        assert response.error_class is ErrorClass.PROTOCOL

    def test_a_model_error_object(self) -> None:
        body = chunks({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
        _, response = feed_pieces([body], reading("anthropic"))
        assert response.error_class is ErrorClass.THROTTLED
        assert response.error == "overloaded_error: busy"

    async def test_state_needs_no_reader_per_request(self) -> None:
        """One reader serves many requests (its state lives in each request's state)."""
        reader = PathReader(FORMATS["meta"].stream)
        body = chunks(
            {"generation": "a", "generation_token_count": 1},
            {"generation": "b", "generation_token_count": 2, "stop_reason": "stop"},
        )
        for _ in range(2):
            state = InvokeStreamState(StreamRecorder(), reader)
            state.feed(body)
            state.close()
            assert [c.tokens for c in state.recorder.chunks] == [1, 1]


class TestFamilies:
    @pytest.mark.parametrize(
        ("model_id", "family"),
        [
            ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
            ("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0", "meta"),
            ("eu.meta.llama3-2-1b-instruct-v1:0", "meta"),
            ("amazon.titan-text-express-v1", "titan"),
            ("us.amazon.nova-lite-v1:0", "nova"),
            ("mistral.mistral-7b-instruct-v0:2", "mistral"),
            ("cohere.command-r-plus-v1:0", "cohere"),
            ("openai.gpt-oss-20b-1:0", "openai"),
        ],
    )
    def test_format_for_model(self, model_id: str, family: str) -> None:
        found = format_for_model(model_id)
        assert found is not None and found.name == family

    def test_unknown_family(self) -> None:
        assert format_for_model("deepseek.r1-v1:0") is None
        with pytest.raises(ValueError, match="unknown model format 'nope'; the presets are"):
            model_format("nope")
