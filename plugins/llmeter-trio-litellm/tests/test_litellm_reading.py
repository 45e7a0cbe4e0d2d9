"""Reading LiteLLM's chunks: the text and the chunk timeline agree with what was streamed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from litellm_fakes import content, finish, reasoning
from llmeter_trio_litellm._reading import AbandonFlag, read_stream

from llmeter_trio import StreamRecorder
from llmeter_trio.endpoints import ChunkKind

pieces = st.lists(st.tuples(st.booleans(), st.text(max_size=12)), max_size=25)


@settings(max_examples=60, deadline=None)
@given(streamed=pieces, max_chars=st.none() | st.integers(min_value=0, max_value=80))
async def test_text_and_chunks_match_the_stream(
    streamed: list[tuple[bool, str]], max_chars: int | None
) -> None:
    """One chunk per non-empty piece, of its kind and length; the answer is the content
    pieces in order, cut at `max_chars` with the rest counted in `truncated_chars`."""
    chunks = [reasoning(text) if thought else content(text) for thought, text in streamed]
    record = read_stream(iter([*chunks, finish()]), StreamRecorder(), AbandonFlag(), max_chars)
    answer = "".join(text for thought, text in streamed if not thought)
    kept = answer if max_chars is None else answer[:max_chars]
    assert not record.failed
    assert record.response_text == kept
    assert (record.truncated_chars or 0) == len(answer) - len(kept)
    assert [(c.kind, c.chars) for c in record.chunks] == [
        (ChunkKind.REASONING if thought else ChunkKind.CONTENT, len(text))
        for thought, text in streamed
        if text
    ]
