"""End to end: the three adapters against the simulated server, over real loopback HTTP."""

from __future__ import annotations

import pytest
import trio

from llmeter_trio.endpoints import (
    ChunkKind,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    TokenCountSource,
)
from llmeter_trio.sim import SimConfig, simulated_server

SIM = SimConfig(ttft_base=0.05, itl=0.005, output_tokens=8, reasoning_tokens=3, tokens_per_chunk=2)


@pytest.mark.parametrize("cls", [OpenAIChatEndpoint, OpenAIResponsesEndpoint])
@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_model(cls: type, stream: bool) -> None:
    """Counts come from the server's usage; streamed reasoning precedes content."""
    with trio.fail_after(20):
        async with simulated_server(SIM) as base_url:
            endpoint = cls(base_url=base_url, model_id=SIM.model)
            payload = endpoint.prepare_payload(
                cls.create_payload("one two three", None, stream=stream)
            )
            async with endpoint.open_session(1):
                record = await endpoint.invoke(payload)
    assert record.error is None, record.error
    assert record.num_tokens_input == 3
    assert record.num_tokens_output == 8
    assert record.num_tokens_output_reasoning == 3
    assert record.num_tokens_output_source is TokenCountSource.SERVER
    assert record.response_text is not None
    assert record.response_text.split() == ["tok"] * 5
    if stream:
        kinds = [chunk.kind for chunk in record.chunks]
        assert kinds[0] is ChunkKind.REASONING
        assert ChunkKind.CONTENT in kinds
        assert kinds.index(ChunkKind.CONTENT) > kinds.index(ChunkKind.REASONING)
        assert record.time_to_first_token is not None
        assert record.time_to_first_content_token is not None
        assert SIM.ttft_base <= record.time_to_first_token < record.time_to_first_content_token
    else:
        assert record.chunks == []


async def test_completions() -> None:
    """The legacy Completions API streams content only, with usage at the end."""
    with trio.fail_after(20):
        async with simulated_server(SIM) as base_url:
            endpoint = OpenAICompletionsEndpoint(base_url=base_url, model_id=SIM.model)
            payload = endpoint.prepare_payload(
                OpenAICompletionsEndpoint.create_payload("a b", None)
            )
            record = await endpoint.invoke(payload)
    assert record.error is None, record.error
    assert record.num_tokens_output == 8
    assert {chunk.kind for chunk in record.chunks} == {ChunkKind.CONTENT}
    assert sum(chunk.chars for chunk in record.chunks) == len(record.response_text or "")
