"""Every built-in endpoint records why the model stopped (`stop_reason`), streamed or not."""

from __future__ import annotations

import pytest
import trio

from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
    StreamRecorder,
)
from llmeter_trio.endpoints.openai import ServerSentEvent
from llmeter_trio.endpoints.openai._responses import ResponsesStreamState
from llmeter_trio.sim import SimConfig, simulated_server

SIM = SimConfig(ttft_base=0.01, itl=0.002, output_tokens=6)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("cls", "max_tokens", "expected"),
    [
        (OpenAIChatEndpoint, None, "stop"),
        (OpenAIChatEndpoint, 3, "length"),
        (OpenAICompletionsEndpoint, None, "stop"),
        (OpenAICompletionsEndpoint, 3, "length"),
        (OpenAIResponsesEndpoint, None, "completed"),
        (AnthropicMessagesEndpoint, 64, "end_turn"),
        (AnthropicMessagesEndpoint, 3, "max_tokens"),
    ],
)
async def test_stop_reason_from_the_simulator(
    cls: type[OpenAIChatEndpoint], max_tokens: int | None, expected: str, stream: bool
) -> None:
    """The API's own word: finish_reason, the response's status, or stop_reason."""
    with trio.fail_after(20):
        async with simulated_server(SIM) as base_url:
            if cls is AnthropicMessagesEndpoint:
                base_url = base_url.removesuffix("/v1")
            endpoint = cls(base_url=base_url, model_id="m", api_key="sk-test")
            payload = cls.create_payload("a b", max_tokens, stream=stream)
            record = await endpoint.invoke(endpoint.prepare_payload(payload))
    assert record.error is None, record.error
    assert record.stop_reason == expected


def test_an_incomplete_response_says_why() -> None:
    """A Responses API answer cut short gives its incomplete_details reason."""

    async def read() -> str | None:
        state = ResponsesStreamState(StreamRecorder())
        data = (
            b'{"type": "response.incomplete", "response": {"id": "r", "status": "incomplete",'
            b' "incomplete_details": {"reason": "max_output_tokens"}}}'
        )
        state.on_event(ServerSentEvent("response.incomplete", data))
        return state.response().stop_reason

    assert trio.run(read) == "max_output_tokens"
