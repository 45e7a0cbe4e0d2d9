"""Cached input tokens, end to end: each AWS endpoint records the simulator's prefix-cache
reads in `num_tokens_input_cached`, and the whole prompt in `num_tokens_input` (Bedrock's
and Anthropic's ``inputTokens`` / ``input_tokens`` leave the cache reads out)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from aws_sim import CLAUDE, LLAMA
from conftest import ACCESS_KEY, SECRETS, SESSION_TOKEN
from llmeter_trio_aws import (
    BedrockConverseEndpoint,
    BedrockInvokeEndpoint,
    SageMakerInvokeEndpoint,
    converse_payload,
    invoke_payload,
    sagemaker_chat_payload,
)

from llmeter_trio import Runner
from llmeter_trio.sim import SimConfig, simulated_server

WORDS = 22  # five whole blocks of 4, and two words more
PROMPT = " ".join(f"w{i}" for i in range(WORDS))
CONFIG = SimConfig(
    ttft_base=0.1, itl=0.01, output_tokens=4, prefix_cache=True, prefix_cache_block=4
)
CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "converse": (
        lambda url, **o: BedrockConverseEndpoint(model_id=CLAUDE, endpoint_url=url, **o),
        converse_payload(PROMPT, None),
    ),
    "invoke-anthropic": (
        lambda url, **o: BedrockInvokeEndpoint(model_id=CLAUDE, endpoint_url=url, **o),
        invoke_payload("anthropic", PROMPT, 100),
    ),
    "sagemaker-chat": (
        lambda url, **o: SageMakerInvokeEndpoint(
            endpoint_name="lmi", family="openai", endpoint_url=url, **o
        ),
        sagemaker_chat_payload(PROMPT, None),
    ),
}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[0])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_cached_tokens_are_recorded(
    case: str, stream: bool, autojump_clock: trio.testing.MockClock
) -> None:
    make, payload = CASES[case]
    async with simulated_server(CONFIG) as base_url:
        endpoint = make(base_url.removesuffix("/v1"), stream=stream)
        result = await Runner(endpoint).run(payload=[payload], clients=1, n_requests=3)
    records = sorted(result.responses, key=lambda r: r.send_time or 0.0)
    assert [r.error for r in records] == [None] * 3
    assert [r.num_tokens_input for r in records] == [WORDS] * 3
    assert [r.num_tokens_input_cached for r in records] == [0, 20, 20]


@pytest.mark.parametrize(("stream", "cached"), [(True, [0, 20]), (False, [None, None])])
async def test_llama_caches_only_in_bedrock_s_metrics(
    stream: bool, cached: list[int | None], autojump_clock: trio.testing.MockClock
) -> None:
    """Llama's own body says nothing of caching; the invocation metrics that end a stream do
    (and their input count leaves the cache reads out)."""
    async with simulated_server(CONFIG) as base_url:
        endpoint = BedrockInvokeEndpoint(
            model_id=LLAMA, endpoint_url=base_url.removesuffix("/v1"), stream=stream
        )
        result = await Runner(endpoint).run(
            payload=[invoke_payload("meta", PROMPT, None)], clients=1, n_requests=2
        )
    records = sorted(result.responses, key=lambda r: r.send_time or 0.0)
    assert [r.num_tokens_input for r in records] == [WORDS] * 2
    assert [r.num_tokens_input_cached for r in records] == cached
