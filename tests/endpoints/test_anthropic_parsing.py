"""Anthropic Messages: answers read from the simulated server's own bytes, and payloads.

The simulated server's answer is taken in virtual time (its known plan), then
read back as a client would read it: each part of the body at the instant the
server sent it, through `SSEDecoder` and `MessagesStreamState`, with a
`StreamRecorder` on the same virtual clock. So every time is exact.
"""

from __future__ import annotations

import base64
import functools
import random
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pydantic
import pytest
import trio
import trio.testing
from anthropic.types import ContentBlockParam, MessageParam
from anthropic.types.message_create_params import (
    MessageCreateParamsBase,
    MessageCreateParamsNonStreaming,
)
from hypothesis import given
from hypothesis import strategies as st

import llmeter_trio.endpoints.anthropic as anthropic_endpoints
from llmeter_trio.endpoints import (
    ChunkKind,
    ErrorClass,
    InvocationResponse,
    StreamRecorder,
    TokenCountSource,
)
from llmeter_trio.endpoints.anthropic import (
    MessagesStreamState,
    classify_anthropic_error,
    classify_error_type,
    create_messages_payload,
    document_block,
    image_block,
    parse_message_body,
    prompt_text,
)
from llmeter_trio.endpoints.openai import ServerSentEvent, SSEDecoder
from llmeter_trio.sim import (
    AppExchange,
    Faults,
    SimApp,
    SimConfig,
    call_app,
    plan,
    simulated_server,
)

from .._support.virtual import run_virtual

HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-sim"}
THINKING: dict[str, Any] = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
PROMPT = "one two three"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
PDF = b"%PDF-1.7\n" + b"\x00" * 16

PLAIN = SimConfig(ttft_base=0.25, itl=0.0625, output_tokens=6)
THINKS = SimConfig(ttft_base=0.25, itl=0.0625, output_tokens=7, reasoning_tokens=3)
CHUNKY = SimConfig(
    ttft_base=0.5, itl=0.125, output_tokens=9, reasoning_tokens=4, tokens_per_chunk=3
)


@pytest.fixture(autouse=True)
def _no_anthropic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK picks up no key, token or base URL from the machine."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def ask(max_tokens: int = 100, **extra: Any) -> dict[str, Any]:
    return create_messages_payload(PROMPT, max_tokens, model="claude-sim", **extra)


def answer(config: SimConfig, body: dict[str, Any], fault: str | None = None) -> AppExchange:
    """The simulated server's answer to `body`, each part with the (virtual) time it was sent."""
    headers = {**HEADERS, "x-sim-fault": fault} if fault else HEADERS
    return run_virtual(lambda: call_app(SimApp(config), "/v1/messages", body, headers))


@functools.cache
def streamed(config: SimConfig, thinking: bool = False, max_tokens: int = 100) -> AppExchange:
    extra = THINKING if thinking else {}
    return answer(config, ask(max_tokens, stream=True, **extra))


def pieces(parts: list[tuple[float, bytes]], cuts: Collection[int]) -> list[tuple[float, bytes]]:
    """The body's parts, each cut further at the body offsets in `cuts` (a piece keeps the
    time its part was sent)."""
    out: list[tuple[float, bytes]] = []
    offset = 0
    for at, part in parts:
        inside = sorted(cut - offset for cut in cuts if offset < cut < offset + len(part))
        for start, end in zip([0, *inside], [*inside, len(part)], strict=True):
            out.append((at, part[start:end]))
        offset += len(part)
    return out


def replay(
    parts: list[tuple[float, bytes]], cuts: Collection[int] = ()
) -> tuple[InvocationResponse, MessagesStreamState]:
    """Read a streamed body as a client does, in virtual time; the record and the state."""

    async def read() -> tuple[InvocationResponse, MessagesStreamState]:
        recorder = StreamRecorder()
        state = MessagesStreamState(recorder)
        decoder = SSEDecoder()
        for at, piece in pieces(parts, cuts):
            await trio.sleep_until(recorder.send_time + at)
            for event in decoder.feed(piece):
                state.on_event(event)
        # What the endpoint does when the body ends.
        if decoder.close() or not state.finished:
            state.fail(ErrorClass.PROTOCOL, f"the stream ended without {state.end_marker}")
        return recorder.finish(state.response()), state

    return run_virtual(read)


def planned(config: SimConfig, *, thinking: bool = False, max_tokens: int = 100) -> Any:
    """What the server decided for the request `ask` makes (no jitter: no draws)."""
    return plan(
        config,
        random.Random(0),
        input_tokens=len(PROMPT.split()),
        token_cap=max_tokens,
        reasoning=thinking,
    )


class TestStreamFromTheSimulator:
    """A streamed answer's record equals the simulated server's plan."""

    @pytest.mark.parametrize(
        ("config", "thinking", "max_tokens"),
        [(PLAIN, False, 100), (THINKS, True, 100), (CHUNKY, True, 100), (THINKS, True, 5)],
        ids=["text", "thinking", "chunks-of-3", "cut-by-max-tokens"],
    )
    def test_record_matches_the_plan(
        self, config: SimConfig, thinking: bool, max_tokens: int
    ) -> None:
        """Text, token counts, stop reason, chunk kinds, count and times are the plan's."""
        expected = planned(config, thinking=thinking, max_tokens=max_tokens)
        record, state = replay(streamed(config, thinking, max_tokens).parts)
        assert record.error is None, record.error
        assert record.response_text == "tok " * expected.content_tokens
        assert record.num_tokens_input == expected.input_tokens == 3
        assert record.num_tokens_output == expected.output_tokens
        assert record.num_tokens_input_source is TokenCountSource.SERVER
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert record.num_tokens_input_cached == 0
        assert state.cache_creation_tokens == 0
        assert state.stop_reason == ("max_tokens" if expected.length_limited else "end_turn")
        assert (max_tokens < config.output_tokens) == expected.length_limited
        assert [c.kind for c in record.chunks] == [
            ChunkKind.REASONING if c.reasoning else ChunkKind.CONTENT for c in expected.chunks
        ]
        assert [c.time for c in record.chunks] == pytest.approx([c.at for c in expected.chunks])
        assert [c.chars for c in record.chunks] == [
            c.tokens * len("think " if c.reasoning else "tok ") for c in expected.chunks
        ]
        assert record.id is not None and record.id.startswith("msg_")
        assert record.time_to_last_token == pytest.approx(expected.chunks[-1].at)

    def test_output_count_is_the_server_s(self) -> None:
        """With 3 tokens a chunk, the output count is the server's 9, not the 3 chunks."""
        record, _ = replay(streamed(CHUNKY, False).parts)
        assert len(record.chunks) == 3
        assert record.num_tokens_output == 9

    def test_thinking_comes_first(self) -> None:
        """First token (thinking) is earlier than the first content token, each as planned."""
        expected = planned(THINKS, thinking=True)
        record, _ = replay(streamed(THINKS, True).parts)
        first_content = next(c.at for c in expected.chunks if not c.reasoning)
        assert record.time_to_first_token == pytest.approx(expected.chunks[0].at) == 0.25
        assert record.time_to_first_content_token == pytest.approx(first_content)
        assert record.time_to_first_token is not None
        assert record.time_to_first_content_token is not None
        assert record.time_to_first_token < record.time_to_first_content_token

    @given(st.data())
    def test_any_split_gives_the_same_record(self, data: st.DataObject) -> None:
        """Reads cut anywhere (inside events, names, UTF-8, CRLF) leave the record unchanged."""
        config, thinking = data.draw(st.sampled_from([(THINKS, True), (CHUNKY, True)]))
        parts = streamed(config, thinking).parts
        size = sum(len(part) for _, part in parts)
        cuts = data.draw(st.sets(st.integers(1, size - 1), max_size=40))
        assert replay(parts, cuts)[0] == replay(parts)[0]

    def test_every_byte_alone(self) -> None:
        """Read one byte at a time, the record is the same as read in the server's parts."""
        parts = streamed(THINKS, True).parts
        size = sum(len(part) for _, part in parts)
        record, _ = replay(parts, range(1, size))
        assert record == replay(parts)[0]
        assert record.error is None


class TestFaults:
    """Every failure the simulated server can show is classified."""

    @pytest.mark.parametrize(
        ("fault", "status", "error_class", "error_type"),
        [
            ("429", 429, ErrorClass.THROTTLED, "rate_limit_error"),
            ("529", 529, ErrorClass.SERVER, "overloaded_error"),
            ("500", 500, ErrorClass.SERVER, "api_error"),
            ("503", 503, ErrorClass.SERVER, "overloaded_error"),
        ],
    )
    def test_http_errors(
        self, fault: str, status: int, error_class: ErrorClass, error_type: str
    ) -> None:
        """An error status is classified by the status; the message is ``type: message``."""
        exchange = answer(PLAIN, ask(stream=True), fault)
        assert exchange.status == status
        found, message = classify_anthropic_error(exchange.status, exchange.body)
        assert found is error_class
        assert message == f"{error_type}: {exchange.json()['error']['message']}"

    @pytest.mark.parametrize(
        ("drop", "status", "error_type"),
        [
            ("anthropic-version", 400, "invalid_request_error"),
            ("x-api-key", 401, "authentication_error"),
        ],
    )
    def test_refused_requests_are_client_errors(
        self, drop: str, status: int, error_type: str
    ) -> None:
        headers = {k: v for k, v in HEADERS.items() if k != drop}
        exchange = run_virtual(lambda: call_app(SimApp(PLAIN), "/v1/messages", ask(), headers))
        assert exchange.status == status
        found, message = classify_anthropic_error(exchange.status, exchange.body)
        assert found is ErrorClass.CLIENT
        assert message.startswith(f"{error_type}: ")

    def test_error_body_that_is_not_anthropic_s(self) -> None:
        """A proxy's page keeps its status's class and the start of its text."""
        assert classify_anthropic_error(502, b"<html>Bad gateway</html>") == (
            ErrorClass.SERVER,
            "<html>Bad gateway</html>",
        )
        assert classify_anthropic_error(429, "") == (
            ErrorClass.THROTTLED,
            "HTTP 429 with an empty body",
        )
        error_class, message = classify_anthropic_error(400, b"x" * 5000)
        assert error_class is ErrorClass.CLIENT and len(message) < 2100

    @pytest.mark.parametrize(
        ("fault", "error_class", "error_type"),
        [
            ("stream-529", ErrorClass.SERVER, "overloaded_error"),
            ("stream-429", ErrorClass.THROTTLED, "rate_limit_error"),
            ("stream-500", ErrorClass.SERVER, "api_error"),
        ],
    )
    def test_error_mid_stream(self, fault: str, error_class: ErrorClass, error_type: str) -> None:
        """An ``error`` event fails the answer; the chunks before it keep their times."""
        config = SimConfig(
            ttft_base=0.25, itl=0.0625, output_tokens=6, faults=Faults(stream_error_after_chunks=2)
        )
        exchange = answer(config, ask(stream=True), fault)
        assert exchange.status == 200
        record, state = replay(exchange.parts)
        assert record.error_class is error_class
        assert record.error is not None and record.error.startswith(f"{error_type}: ")
        assert record.response_text == "tok " * 2
        assert [c.time for c in record.chunks] == pytest.approx([0.25, 0.3125])
        assert not state.finished

    def test_whole_answer_failing_late(self) -> None:
        """Without a stream, the error the stream would have carried is the status."""
        exchange = answer(PLAIN, ask(), "stream-529")
        assert exchange.status == 529
        assert classify_anthropic_error(exchange.status, exchange.body)[0] is ErrorClass.SERVER

    def test_stream_cut_short(self) -> None:
        """A stream that ends without ``message_stop`` is a protocol error."""
        config = SimConfig(output_tokens=6, faults=Faults(drop_after_chunks=3))
        exchange = answer(config, ask(stream=True), "drop")
        record, state = replay(exchange.parts)
        assert not state.finished
        assert record.error_class is ErrorClass.PROTOCOL
        assert record.error is not None and "message_stop" in record.error
        assert len(record.chunks) == 3


def sse_event(obj: dict[str, Any]) -> ServerSentEvent:
    """An event named like its type, as Anthropic sends it."""
    return ServerSentEvent(str(obj.get("type", "message")), orjson.dumps(obj))


def message_start(usage: dict[str, Any] | None = None) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 1} if usage is None else usage
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": usage}
    return {"type": "message_start", "message": message}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def message_delta(output_tokens: int, **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": output_tokens, **usage},
    }


END = [message_delta(5), {"type": "message_stop"}]


def read_events(
    *events: dict[str, Any] | ServerSentEvent, gap: float = 0.125
) -> tuple[InvocationResponse, MessagesStreamState]:
    """Read `events` `gap` seconds apart (virtual time); the record and the state."""

    async def read() -> tuple[InvocationResponse, MessagesStreamState]:
        recorder = StreamRecorder()
        state = MessagesStreamState(recorder)
        for item in events:
            await trio.sleep(gap)
            state.on_event(item if isinstance(item, ServerSentEvent) else sse_event(item))
        return recorder.finish(state.response()), state

    return run_virtual(read)


class TestEvents:
    """Events the simulated server does not send, written by hand."""

    def test_tool_use(self) -> None:
        """A tool_use block's name and its input_json_delta pieces are TOOL chunks."""
        record, state = read_events(
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            delta(0, type="text_delta", text="Let me check."),
            {"type": "content_block_stop", "index": 0},
            block_start(
                1, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
            ),
            delta(1, type="input_json_delta", partial_json=""),
            delta(1, type="input_json_delta", partial_json='{"city": '),
            delta(1, type="input_json_delta", partial_json='"Paris"}'),
            {"type": "content_block_stop", "index": 1},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 40},
            },
            {"type": "message_stop"},
        )
        assert record.error is None
        assert record.response_text == "Let me check."
        assert [(c.kind, c.chars) for c in record.chunks] == [
            (ChunkKind.CONTENT, 13),
            (ChunkKind.TOOL, len("get_weather")),
            (ChunkKind.TOOL, 9),
            (ChunkKind.TOOL, 8),
        ]
        assert state.stop_reason == "tool_use"
        assert record.num_tokens_output == 40

    def test_redacted_thinking_is_the_first_token(self) -> None:
        """A redacted_thinking block is reasoning output, though without readable text."""
        record, _ = read_events(
            message_start(),
            block_start(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}),
            {"type": "content_block_stop", "index": 0},
            block_start(1, {"type": "text", "text": ""}),
            delta(1, type="text_delta", text="Hi"),
            *END,
        )
        assert [(c.kind, c.chars) for c in record.chunks] == [
            (ChunkKind.REASONING, 0),
            (ChunkKind.CONTENT, 2),
        ]
        assert record.time_to_first_token == 0.25
        assert record.time_to_first_content_token == 0.625

    def test_what_records_nothing(self) -> None:
        """Pings, signatures, citations, empty deltas, block stops and new event types are not
        output."""
        record, _ = read_events(
            message_start(),
            {"type": "ping"},
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, type="thinking_delta", thinking=""),
            delta(0, type="signature_delta", signature="c2ln"),
            {"type": "content_block_stop", "index": 0},
            block_start(1, {"type": "text", "text": ""}),
            delta(1, type="citations_delta", citation={"type": "char_location"}),
            delta(1, type="text_delta", text=""),
            {"type": "some_future_event", "detail": 1},
            *END,
        )
        assert record.error is None
        assert record.chunks == []
        assert record.response_text == ""

    def test_text_in_a_block_start(self) -> None:
        """Text a block starts with is output too."""
        record, _ = read_events(
            message_start(), block_start(0, {"type": "text", "text": "Hello"}), *END
        )
        assert record.response_text == "Hello"
        assert [(c.kind, c.chars) for c in record.chunks] == [(ChunkKind.CONTENT, 5)]

    def test_prompt_caching_usage(self) -> None:
        """Input is every input token (uncached, cache reads and writes); cached is the reads."""
        usage = {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
            "output_tokens": 1,
        }
        record, state = read_events(message_start(usage), *END)
        assert record.num_tokens_input == 130
        assert record.num_tokens_input_cached == 100
        assert state.cache_creation_tokens == 20
        assert record.num_tokens_output == 5

    def test_message_delta_usage_is_cumulative(self) -> None:
        """Counts in message_delta replace message_start's; thinking tokens count as
        reasoning."""
        record, _ = read_events(
            message_start({"input_tokens": 10, "output_tokens": 1}),
            message_delta(
                30,
                input_tokens=12,
                cache_read_input_tokens=4,
                output_tokens_details={"thinking_tokens": 20},
            ),
            {"type": "message_stop"},
        )
        assert record.num_tokens_input == 16
        assert record.num_tokens_input_cached == 4
        assert (record.num_tokens_output, record.num_tokens_output_reasoning) == (30, 20)

    def test_placeholder_output_count_is_not_kept(self) -> None:
        """message_start's output_tokens (1) is not a count: without message_delta, none."""
        record, state = read_events(message_start(), {"type": "message_stop"})
        assert record.num_tokens_input == 10
        assert record.num_tokens_output is None
        assert state.finished

    @pytest.mark.parametrize(
        "data", [b"{not json", b"[1, 2]"], ids=["invalid-json", "not-an-object"]
    )
    def test_unreadable_event(self, data: bytes) -> None:
        record, _ = read_events(message_start(), ServerSentEvent("content_block_delta", data))
        assert record.error_class is ErrorClass.PROTOCOL
        assert record.error is not None and "streamed event" in record.error

    def test_events_after_an_error_are_ignored(self) -> None:
        """The first error is the answer's; later output and the end do not undo it."""
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        record, state = read_events(
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            delta(0, type="text_delta", text="a"),
            error,
            delta(0, type="text_delta", text="b"),
            {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}},
            *END,
        )
        assert (record.error_class, record.error) == (
            ErrorClass.SERVER,
            "overloaded_error: Overloaded",
        )
        assert record.response_text == "a"
        assert len(record.chunks) == 1
        assert not state.finished
        assert record.num_tokens_output is None

    @pytest.mark.parametrize(
        ("error_type", "error_class"),
        [
            ("overloaded_error", ErrorClass.SERVER),
            ("api_error", ErrorClass.SERVER),
            ("timeout_error", ErrorClass.SERVER),
            ("rate_limit_error", ErrorClass.THROTTLED),
            ("invalid_request_error", ErrorClass.CLIENT),
            ("authentication_error", ErrorClass.CLIENT),
            ("billing_error", ErrorClass.CLIENT),
            ("permission_error", ErrorClass.CLIENT),
            ("not_found_error", ErrorClass.CLIENT),
            ("request_too_large", ErrorClass.CLIENT),
            ("a_new_error", ErrorClass.SERVER),
        ],
    )
    def test_error_types(self, error_type: str, error_class: ErrorClass) -> None:
        """Each error type has its class, in an event as in classify_error_type."""
        assert classify_error_type(error_type) is error_class
        error = {"type": "error", "error": {"type": error_type, "message": "m"}}
        record, _ = read_events(message_start(), error)
        assert (record.error_class, record.error) == (error_class, f"{error_type}: m")

    def test_error_without_a_message(self) -> None:
        record, _ = read_events({"type": "error", "error": {"type": "api_error"}})
        assert record.error_class is ErrorClass.SERVER
        assert record.error == 'api_error: {"type":"api_error"}'


class TestBody:
    """Whole (not streamed) answers."""

    def test_simulated_answer(self) -> None:
        """The simulated server's message: text blocks only in the text, the server's counts."""
        expected = planned(THINKS, thinking=True)
        exchange = answer(THINKS, ask(**THINKING))
        body = exchange.json()
        assert [block["type"] for block in body["content"]] == ["thinking", "text"]
        record = parse_message_body(body)
        assert record.error is None
        assert record.response_text == "tok " * expected.content_tokens
        assert (record.num_tokens_input, record.num_tokens_output) == (3, 7)
        assert record.num_tokens_output_source is TokenCountSource.SERVER
        assert record.chunks == []
        assert body["stop_reason"] == "end_turn"

    def test_tool_use_and_cache(self) -> None:
        body = {
            "id": "msg_2",
            "type": "message",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "c2ln"},
                {"type": "text", "text": "Checking. "},
                {"type": "tool_use", "id": "t", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "text", "text": "Done."},
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 3,
                "cache_read_input_tokens": 50,
                "cache_creation_input_tokens": 0,
                "output_tokens": 42,
            },
        }
        record = parse_message_body(body)
        assert (record.id, record.response_text) == ("msg_2", "Checking. Done.")
        assert (record.num_tokens_input, record.num_tokens_input_cached) == (53, 50)
        assert record.num_tokens_output == 42

    def test_error_body(self) -> None:
        record = parse_message_body(
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
        )
        assert (record.error_class, record.error) == (
            ErrorClass.THROTTLED,
            "rate_limit_error: slow down",
        )


def check_with_the_sdk_types(payload: Mapping[str, Any]) -> None:
    """`payload` is what the anthropic SDK's request types describe."""
    assert set(payload) <= set(MessageCreateParamsBase.__annotations__) | {"stream"}
    pydantic.TypeAdapter(MessageCreateParamsNonStreaming).validate_python(
        {k: v for k, v in payload.items() if k != "stream"}
    )  # (the SDK types hold messages as iterables, validated lazily: check them one by one)
    for message in payload["messages"]:
        pydantic.TypeAdapter(MessageParam).validate_python(message)
        if isinstance(message["content"], list):
            for block in message["content"]:
                pydantic.TypeAdapter(ContentBlockParam).validate_python(block)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inline(block_type: str, media_type: str, data: str) -> dict[str, Any]:
    """A block with a base64 source."""
    return {
        "type": block_type,
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }


class TestPayload:
    """create_messages_payload and its blocks."""

    def test_text_and_system(self) -> None:
        payload = create_messages_payload("Say hello", 32, system="Be brief.", temperature=0.5)
        assert payload == {
            "max_tokens": 32,
            "messages": [{"role": "user", "content": "Say hello"}],
            "system": "Be brief.",
            "temperature": 0.5,
        }
        assert prompt_text(payload) == "Be brief.\nSay hello"

    def test_images_and_documents(self, tmp_path: Path) -> None:
        """Attachments come first, as Anthropic advises, each in its block shape."""
        photo = tmp_path / "photo.jpg"
        photo.write_bytes(JPEG)
        notes = tmp_path / "notes.txt"
        notes_text = "some notes"
        notes.write_text(notes_text)
        payload = create_messages_payload(
            "Describe these",
            images=[
                PNG,
                photo,
                "https://example.com/cat.webp",
                f"data:image/gif;base64,{b64(b'GIF89a')}",
            ],
            documents=[PDF, notes, "https://example.com/paper.pdf"],
        )
        assert payload["messages"][0]["content"] == [
            inline("image", "image/png", b64(PNG)),
            inline("image", "image/jpeg", b64(JPEG)),
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}},
            inline("image", "image/gif", b64(b"GIF89a")),
            inline("document", "application/pdf", b64(PDF)),
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": notes_text},
            },
            {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
            {"type": "text", "text": "Describe these"},
        ]
        assert prompt_text(payload) == "Describe these"

    def test_document_title(self) -> None:
        assert document_block(PDF, title="Paper")["title"] == "Paper"

    @pytest.mark.parametrize(
        ("make", "match"),
        [
            (lambda: image_block(b"????", mime_type="image/avif"), "image/avif"),
            (lambda: image_block(b"????"), "mime_type="),
            (lambda: image_block("data:image/png,notbase64"), "data URL"),
            (lambda: image_block("data:image/png;base64,@@@"), "not valid base64"),
            (lambda: document_block(b"PK\x03\x04", mime_type="application/zip"), "PDF and text"),
            (lambda: document_block(b"\xff\xfe", mime_type="text/plain"), "UTF-8"),
        ],
        ids=["avif", "unknown-bytes", "data-url", "bad-base64", "zip", "not-utf8"],
    )
    def test_refused_attachments(self, make: Callable[[], Any], match: str) -> None:
        """What Anthropic would refuse is refused when the payload is made, in one line."""
        with pytest.raises(ValueError, match=match) as raised:
            make()
        assert "\n" not in str(raised.value)

    def test_prompt_text_of_turns_and_system_blocks(self) -> None:
        """System blocks and every turn's text; None without text."""
        payload = {
            "system": [{"type": "text", "text": "Rules."}],
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
                {"role": "user", "content": [image_block(PNG), {"type": "text", "text": "And?"}]},
            ],
        }
        assert prompt_text(payload) == "Rules.\nHi\nHello!\nAnd?"
        assert prompt_text({"messages": [{"role": "user", "content": [image_block(PNG)]}]}) is None
        assert prompt_text({}) is None

    @pytest.mark.parametrize("stream", [True, False])
    def test_the_simulated_server_takes_it(self, stream: bool) -> None:
        """A payload with a system prompt, an image and a PDF is answered in full."""
        payload = create_messages_payload(
            PROMPT, 100, system="Be brief.", images=[PNG], documents=[PDF],
            model="claude-sim", stream=stream,
        )  # fmt: skip
        exchange = answer(PLAIN, payload)
        assert exchange.status == 200, exchange.body
        if stream:
            record, _ = replay(exchange.parts)
        else:
            record = parse_message_body(exchange.json())
        assert record.error is None
        assert record.num_tokens_input == len(["Be", "brief.", "one", "two", "three"])
        assert record.response_text == "tok " * PLAIN.output_tokens

    def test_the_sdk_types_describe_it(self, tmp_path: Path) -> None:
        """Every shape made here is one the official SDK's request types accept."""
        notes = tmp_path / "notes.md"
        notes.write_text("# Notes")
        payload = create_messages_payload(
            "Describe", 64, system="Be brief.",
            images=[PNG, JPEG, "https://example.com/cat.png"],
            documents=[PDF, notes, "https://example.com/paper.pdf"],
            model="claude-sim", stream=True, **THINKING,
        )  # fmt: skip
        check_with_the_sdk_types(payload)
        with pytest.raises(pydantic.ValidationError):  # (the check can fail)
            check_with_the_sdk_types({**payload, "max_tokens": "many"})

    @pytest.mark.realtime  # a loopback server on the real clock (no time is compared)
    async def test_the_sdk_sends_it(self) -> None:
        """The SDK's client takes the payload as its arguments, and the server answers it."""
        payload = create_messages_payload(
            PROMPT, 100, system="Be brief.", images=[PNG], documents=[PDF], model="claude-sim"
        )
        config = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=6)
        with trio.fail_after(20):
            async with simulated_server(config) as url:
                origin = url.removesuffix("/v1")
                sdk = anthropic.AsyncAnthropic(base_url=origin, api_key="sk-ant-sim", max_retries=0)
                async with sdk:
                    message = await sdk.messages.create(**payload)
        assert message.usage.input_tokens == 5
        record = parse_message_body(message.model_dump())
        assert (record.response_text, record.num_tokens_output) == ("tok " * 6, 6)


def test_public_names() -> None:
    """Every exported name exists, and the list is sorted."""
    names = anthropic_endpoints.__all__
    assert all(hasattr(anthropic_endpoints, name) for name in names)
    assert list(names) == sorted(names)
