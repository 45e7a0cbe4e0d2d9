"""`RunConfig.endpoint()` rebuilds the run's endpoint, LLMeter's saved ones included."""

from __future__ import annotations

import pytest

from llmeter_trio import FakeEndpoint
from llmeter_trio.endpoints import OpenAICompletionStreamEndpoint
from llmeter_trio.run_config import RunConfig


def test_own_endpoint_configuration() -> None:
    endpoint = FakeEndpoint(output_tokens=3)
    assert RunConfig(endpoint_config=endpoint.to_dict()).endpoint() == endpoint


@pytest.mark.parametrize(
    "endpoint_type",
    [
        "llmeter:llmeter.endpoints.openai.OpenAICompletionStreamEndpoint",  # as read from a folder
        "OpenAICompletionStreamEndpoint",  # LLMeter's Endpoint.to_dict
    ],
)
def test_llmeter_class_names(endpoint_type: str) -> None:
    config = RunConfig(
        endpoint_config={
            "endpoint_type": endpoint_type,
            "model_id": "gpt-4o-mini",
            "endpoint_name": "openai",
            "provider": "openai",
        }
    )
    endpoint = config.endpoint()
    assert isinstance(endpoint, OpenAICompletionStreamEndpoint)
    assert endpoint.model_id == "gpt-4o-mini" and endpoint.stream


def test_unknown_type_says_so() -> None:
    with pytest.raises(KeyError, match="no-such-endpoint"):
        RunConfig(endpoint_config={"endpoint_type": "no-such-endpoint"}).endpoint()
