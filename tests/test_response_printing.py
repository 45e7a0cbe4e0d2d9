"""``print(response)`` shows the record as JSON, as LLMeter's does; repr stays attrs'."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from llmeter_trio.endpoints import Chunk, ChunkKind, ErrorClass, InvocationResponse


def streamed() -> InvocationResponse:
    return InvocationResponse(
        "hello",
        {"prompt": "hi", "image": b"\xff\xd8"},
        "r1",
        time_to_first_token=0.25,
        request_time=datetime(2025, 1, 15, 10, 0, tzinfo=timezone.utc),
        error_class=ErrorClass.THROTTLED,
        chunks=[Chunk(0.25, ChunkKind.CONTENT, 1), Chunk(0.5, ChunkKind.CONTENT, 1)],
    )


def test_str_is_indented_json_of_the_record() -> None:
    text = str(streamed())
    assert text.startswith('{\n    "response_text": "hello"')  # LLMeter's indent=4
    document = json.loads(text)
    assert document["id"] == "r1" and document["time_to_first_token"] == 0.25
    assert document["request_time"] == "2025-01-15T10:00:00Z"
    assert document["input_payload"]["image"] == {"__llmeter_bytes__": "/9g="}
    assert document["error_class"] == "throttled"


def test_str_leaves_out_the_chunk_timeline() -> None:
    document = json.loads(str(streamed()))
    assert "chunks" not in document
    assert set(document) == set(json.loads(streamed().to_json())) - {"chunks"}


def test_repr_is_unchanged() -> None:
    assert repr(streamed()).startswith("InvocationResponse(response_text='hello'")
