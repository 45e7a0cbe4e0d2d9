"""The incremental SSE parser: line endings, splits anywhere, fields, and what is not a line end."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmeter_trio.endpoints.openai import ServerSentEvent, SSEDecoder


def decode_all(*reads: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for read in reads for event in decoder.feed(read)]
    assert not decoder.close()
    return events


def message(data: bytes, event: str = "message", id: str = "", retry: int | None = None):
    return ServerSentEvent(event, data, id, retry)


class TestLines:
    """Only CRLF, LF and CR end lines, wherever reads split them."""

    @pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
    def test_each_line_ending(self, end: bytes) -> None:
        """Every standard line ending ends lines and events alike."""
        stream = b"data: one" + end + end + b"data: two" + end + end
        assert decode_all(stream) == [message(b"one"), message(b"two")]

    def test_mixed_line_endings(self) -> None:
        """Endings may change from line to line."""
        stream = b"event: a\r\ndata: 1\rdata: 2\n\r\ndata: 3\r\r"
        assert decode_all(stream) == [message(b"1\n2", "a"), message(b"3")]

    def test_crlf_split_across_reads(self) -> None:
        """A CR ending one read and an LF starting the next are one line ending, not two."""
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\r") == []
        assert decoder.feed(b"\n") == []  # a blank line here would have dispatched
        assert decoder.feed(b"\r") == [message(b"a")]
        assert decoder.feed(b"\ndata: b\n\n") == [message(b"b")]

    def test_event_ending_in_cr_is_dispatched_at_once(self) -> None:
        """An event whose blank line ends with a CR at the end of a read does not wait for more."""
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\r\r") == [message(b"a")]

    @pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c"])
    def test_unicode_separators_do_not_end_lines(self, separator: str) -> None:
        """U+2028 and friends inside JSON strings stay in the event (aiter_lines would split)."""
        text = f"before{separator}after"
        stream = b"data: " + orjson.dumps({"content": text}) + b"\n\n"
        events = decode_all(stream)
        assert len(events) == 1
        assert orjson.loads(events[0].data) == {"content": text}

    def test_utf8_character_split_between_reads(self) -> None:
        """A read may end inside a multi-byte character; the event still decodes whole."""
        stream = 'data: {"t": "é€😀"}\n\n'.encode()
        cut = stream.index("😀".encode()) + 2
        events = decode_all(stream[:cut], stream[cut:])
        assert [orjson.loads(e.data) for e in events] == [{"t": "é€😀"}]

    def test_one_byte_reads(self) -> None:
        """Reads of one byte each give the same events as one read."""
        stream = b"event: x\r\ndata: a\r\ndata: b\r\n\r\n: ping\r\rdata: [DONE]\r\r"
        one_by_one = decode_all(*(stream[i : i + 1] for i in range(len(stream))))
        assert one_by_one == decode_all(stream) == [message(b"a\nb", "x"), message(b"[DONE]")]

    def test_leading_byte_order_mark_is_dropped(self) -> None:
        """One UTF-8 BOM at the start of the stream is not part of the first field name."""
        assert decode_all(b"\xef\xbb", b"\xbfdata: a\n\n") == [message(b"a")]
        assert decode_all(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []  # only one is dropped


class TestFields:
    """Fields as the standard defines them."""

    def test_multi_line_data(self) -> None:
        """Data lines join with LF."""
        assert decode_all(b"data: a\ndata:\ndata: c\n\n") == [message(b"a\n\nc")]

    def test_one_space_after_the_colon_is_dropped(self) -> None:
        """Only the first space after the colon goes; no space is fine."""
        assert decode_all(b"data:x\n\ndata:  y\n\n") == [message(b"x"), message(b" y")]

    def test_field_without_colon(self) -> None:
        """A line with no colon is a field name with an empty value."""
        assert decode_all(b"data\n\n") == [message(b"")]

    def test_comments_and_keep_alives_make_no_events(self) -> None:
        """``: ping`` lines are ignored, also between the lines of an event."""
        stream = b": ping\n\n:\n\ndata: a\n: in the middle\ndata: b\n\n"
        assert decode_all(stream) == [message(b"a\nb")]

    def test_event_names(self) -> None:
        """``event:`` names the next event only; an empty name means "message"."""
        stream = b"event: response.created\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"
        assert decode_all(stream) == [
            message(b"1", "response.created"),
            message(b"2"),
            message(b"3"),
        ]

    def test_event_without_data_is_not_dispatched_and_forgets_its_name(self) -> None:
        """A blank line with no data buffered dispatches nothing and resets the name."""
        assert decode_all(b"event: a\n\ndata: x\n\n") == [message(b"x")]

    def test_id_and_retry(self) -> None:
        """The last event id and retry carry over; an id with NUL and a non-digit retry don't."""
        stream = b"id: 7\nretry: 1500\ndata: a\n\ndata: b\n\nid: x\0y\nretry: 1e3\ndata: c\n\n"
        assert decode_all(stream) == [
            message(b"a", id="7", retry=1500),
            message(b"b", id="7", retry=1500),
            message(b"c", id="7", retry=1500),
        ]

    def test_unknown_fields_are_ignored(self) -> None:
        """Field names other than data, event, id and retry change nothing."""
        assert decode_all(b"foo: bar\ndata: a\nDATA: b\n\n") == [message(b"a")]

    def test_done_sentinel_is_ordinary_data(self) -> None:
        """``[DONE]`` is an event like any other for the parser."""
        assert decode_all(b"data: [DONE]\n\n") == [message(b"[DONE]")]

    def test_text_decodes_with_replacement(self) -> None:
        """`text` never raises on invalid UTF-8."""
        assert message(b"a\xffb").text == "a\ufffdb"


class TestEndOfStream:
    """`close` tells a stream cut in the middle of an event from one that ended cleanly."""

    @pytest.mark.parametrize("tail", [b"data: a", b"data: a\n", b"event: x\n", b"data: a\r\n"])
    def test_unterminated_event(self, tail: bytes) -> None:
        """An event without its blank line is discarded and reported."""
        decoder = SSEDecoder()
        assert decoder.feed(b"data: 0\n\n" + tail) == [message(b"0")]
        assert decoder.close() is True

    def test_clean_end(self) -> None:
        """A stream that ends after a blank line is complete."""
        decoder = SSEDecoder()
        decoder.feed(b"data: 0\n\n: bye\n")
        assert decoder.close() is False


# -- property: any split of a valid stream gives the same events -------------------------

_LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n"])
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
        st.sampled_from("\u2028\u2029\u0085:😀é \x00"),
    ),
    max_size=12,
)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A valid event stream and the events it holds."""
    lines: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id = ""
    for _ in range(draw(st.integers(0, 6))):
        for comment in draw(st.lists(_TEXT, max_size=2)):
            lines.append(":" + comment)
        name = draw(st.none() | _TEXT)
        if name is not None:
            lines.append("event: " + name)
        new_id = draw(st.none() | _TEXT.filter(lambda s: "\0" not in s))
        if new_id is not None:
            lines.append("id: " + new_id)
            last_id = new_id
        data = draw(st.lists(_TEXT, min_size=1, max_size=3))
        lines += ["data: " + line for line in data]
        lines.append("")
        expected.append(ServerSentEvent(name or "message", "\n".join(data).encode(), last_id, None))
    stream = ""
    previous_end = ""
    for line in lines:
        end = draw(_LINE_ENDS)
        if previous_end == "\r" and not line and end == "\n":
            end = "\r\n"  # CR then a blank line ended by LF would read as one CRLF
        stream += line + end
        previous_end = end
    return stream.encode(), expected


@settings(max_examples=150, deadline=None)
@given(event_streams(), st.data())
def test_any_split_gives_the_same_events(
    stream_and_events: tuple[bytes, list[ServerSentEvent]], data: st.DataObject
) -> None:
    """Cutting a valid stream into reads anywhere never changes the events."""
    stream, expected = stream_and_events
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    bounds = [0, *cuts, len(stream)]
    reads = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode_all(*reads) == expected
    assert decode_all(stream) == expected
