"""LLMeter's AWS classes as a notebook uses them: pointed at an endpoint by the AWS SDKs'
environment variables, retries asked for, LLMeter's saved endpoint files, ``invoke`` from
plain code."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import trio
from aws_sim import CLAUDE
from conftest import ACCESS_KEY, SECRET_KEY
from llmeter_trio_aws import (
    BedrockConverse,
    BedrockConverseStream,
    BedrockInvoke,
    SageMakerStreamEndpoint,
)

from llmeter_trio.endpoints import Endpoint
from llmeter_trio.sim import SimConfig, simulated_server

URL = "http://127.0.0.1:9"


class TestEndpointUrlFromTheEnvironment:
    def test_the_services_variable_first(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", URL)
        endpoint = BedrockConverseStream(model_id=CLAUDE, region="us-east-1")
        assert (endpoint.base_url, endpoint.to_config()["endpoint_url"]) == (URL, URL)
        sagemaker = SageMakerStreamEndpoint("tgi", "m", region="us-east-1")
        assert sagemaker.base_url == "http://127.0.0.1:8"  # the global one

    def test_sagemakers_own(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", URL)
        assert SageMakerStreamEndpoint("tgi", "m", region="us-east-1").base_url == URL
        assert BedrockInvoke(CLAUDE, region="us-east-1").base_url.startswith("https://")

    def test_ignored_when_asked_and_an_option_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", URL)
        given = BedrockConverse(model_id=CLAUDE, region="us-east-1", endpoint_url="http://h:1")
        assert given.base_url == "http://h:1"
        monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        regional = BedrockConverse(model_id=CLAUDE, region="us-east-1")
        assert regional.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"


class TestMaxAttempts:
    @pytest.mark.parametrize("cls", [BedrockConverse, BedrockConverseStream, BedrockInvoke])
    def test_one_attempt_or_none_given_is_silent(self, cls: type[Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cls(CLAUDE, region="us-east-1")
            cls(CLAUDE, region="us-east-1", max_attempts=1)

    def test_retries_asked_warn_at_the_callers_line(self) -> None:
        with pytest.warns(UserWarning, match=r"max_attempts=3\) has no effect") as caught:
            BedrockConverseStream(CLAUDE, region="us-east-1", max_attempts=3)
        assert caught[0].filename == __file__


# What LLMeter's Endpoint.save() writes for its AWS classes: attributes and class name.
DOCUMENTS = [
    {"endpoint_name": "amazon bedrock", "model_id": CLAUDE, "provider": "bedrock",
     "region": "us-east-1", "ttft_visible_tokens_only": True,
     "endpoint_type": "BedrockConverseStream"},
    {"endpoint_name": "amazon bedrock", "model_id": CLAUDE, "provider": "bedrock",
     "region": "us-east-1", "generated_text_jmespath": "choices[0].message.content",
     "generated_token_count_jmespath": "usage.completion_tokens",
     "input_text_jmespath": "messages[].content[].text",
     "input_token_count_jmespath": "usage.prompt_tokens", "endpoint_type": "BedrockInvoke"},
    {"endpoint_name": "tgi", "model_id": "m", "provider": "sagemaker",
     "generated_text_jmespath": "generated_text", "input_text_jmespath": "inputs",
     "token_count_jmespath": "details.generated_tokens", "kwargs": {}, "region": "us-east-1",
     "endpoint_type": "SageMakerStreamEndpoint"},
]  # fmt: skip


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d["endpoint_type"])
def test_loads_llmeters_endpoint_files(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(document))
    loaded = Endpoint.load_from_file(path)
    assert type(loaded).__name__ == document["endpoint_type"]
    assert (loaded.model_id, loaded.endpoint_name) == (
        document["model_id"],
        document["endpoint_name"],
    )
    assert Endpoint.load(loaded.to_dict()).to_dict() == loaded.to_dict()  # then saved as ours


@pytest.mark.realtime  # the simulated server on the real clock, its own trio run in a thread
def test_invoke_from_plain_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """As LLMeter's Bedrock notebook: the class made from a model id alone, `create_payload`
    called on it, and `invoke` returning the response."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    found: dict[str, Any] = {}

    async def main() -> None:
        async with simulated_server(SimConfig(ttft_base=0.005, itl=0.001, output_tokens=6)) as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url.removesuffix("/v1"))
            endpoint = BedrockConverseStream(model_id=CLAUDE)
            payload = BedrockConverseStream.create_payload(
                "one two three", max_tokens=6, system=[{"text": "be brief"}]
            )
            found["record"] = await trio.to_thread.run_sync(endpoint.invoke, payload)

    trio.run(main)
    record = found["record"]
    assert record.error is None, record.error
    assert record.num_tokens_output == 6 and record.time_to_first_token is not None
    assert record.input_payload["system"] == [{"text": "be brief"}]
    assert record.id is not None and record.request_time is not None
