"""The event-stream decoder: botocore's parser fed as bytes arrive, corrupt frames refused."""

from __future__ import annotations

import functools

import pytest
from aws_sim import CLAUDE, cut, exchange
from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st
from llmeter_trio_aws import CorruptEventStream, EventStreamDecoder, StreamEvent, converse_payload

from llmeter_trio.sim import Faults, SimConfig
from llmeter_trio.sim._eventstream import encode_message, event_message, exception_message

CONFIG = SimConfig(output_tokens=4, reasoning_tokens=1)


@functools.cache
def converse_stream() -> bytes:
    payload = converse_payload(
        "a b", additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 9}}
    )
    return exchange(CONFIG, f"/model/{CLAUDE}/converse-stream", payload, "bedrock").body


def reference(data: bytes) -> list[StreamEvent]:
    """What botocore itself decodes from the whole stream."""
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [
        StreamEvent(
            m.headers[":message-type"],
            m.headers.get(":event-type"),
            m.headers.get(":exception-type"),
            m.payload,
        )
        for m in buffer
    ]


def decode(pieces: list[bytes]) -> tuple[list[StreamEvent], EventStreamDecoder]:
    decoder = EventStreamDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)], decoder


class TestDecoding:
    def test_the_simulated_stream(self) -> None:
        events, decoder = decode([converse_stream()])
        assert events == reference(converse_stream())
        assert [e.event_type for e in events][:2] == ["messageStart", "contentBlockDelta"]
        assert events[-1].event_type == "metadata" and events[-1].json()["usage"]
        assert not decoder.pending

    @given(st.lists(st.integers(min_value=0, max_value=3000), max_size=15))
    def test_any_cuts(self, cuts: list[int]) -> None:
        data = converse_stream()
        events, decoder = decode(cut(data, [c % len(data) for c in cuts]))
        assert events == reference(data) and not decoder.pending

    def test_byte_by_byte(self) -> None:
        data = converse_stream()
        events, _ = decode([data[i : i + 1] for i in range(len(data))])
        assert events == reference(data)

    def test_an_unfinished_message_is_pending(self) -> None:
        events, decoder = decode([converse_stream()[:-1]])
        assert decoder.pending and events == reference(converse_stream())[:-1]

    def test_exception_message(self) -> None:
        (event,), _ = decode([exception_message("throttlingException", b'{"message":"slow"}')])
        assert event == StreamEvent("exception", None, "throttlingException", b'{"message":"slow"}')

    def test_error_message_text_from_its_headers(self) -> None:
        headers = [(":message-type", "error"), (":error-code", "InternalFailure"),
                   (":error-message", "boom")]  # fmt: skip
        (event,), _ = decode([encode_message(headers, b"")])
        assert (event.message_type, event.exception_type) == ("error", "InternalFailure")
        assert event.json() == {"message": "boom"}

    def test_simulated_exception_after_events(self) -> None:
        config = SimConfig(output_tokens=4, faults=Faults(stream_error_after_chunks=1))
        data = exchange(
            config, f"/model/{CLAUDE}/converse-stream", converse_payload("a"), "bedrock",
            fault="stream-429",
        ).body  # fmt: skip
        events, _ = decode([data])
        assert [e.message_type for e in events] == ["event", "event", "exception"]
        assert events[-1].exception_type == "throttlingException"


class TestCorruption:
    @pytest.mark.parametrize("where", [5, 20, -2])  # the prelude, a header, the message CRC
    def test_a_flipped_byte_raises_after_the_good_messages(self, where: int) -> None:
        good = event_message("messageStart", b'{"role":"assistant"}')
        bad = bytearray(event_message("contentBlockDelta", b'{"delta":{"text":"x"}}'))
        bad[where] ^= 0x01
        decoder = EventStreamDecoder()
        received = []
        with pytest.raises(CorruptEventStream, match="corrupt event stream"):
            for event in decoder.feed(good + bytes(bad)):
                received.append(event)
        assert [e.event_type for e in received] == ["messageStart"]
        with pytest.raises(CorruptEventStream):  # nothing more is read after it
            list(decoder.feed(good))
        assert not decoder.pending
