"""Multi-turn sessions over Bedrock Converse: the next turn's body (content blocks) is one
botocore's own model of the API accepts, and a run against the simulated server sends the
history with the real answers, its time to first token growing as the prefill cost says."""

from __future__ import annotations

from typing import Any

import botocore.session
import botocore.validate
import pytest
import trio
import trio.testing
from conftest import ACCESS_KEY, SECRETS, SESSION_TOKEN
from llmeter_trio_aws import BedrockConverseEndpoint, converse_payload

from llmeter_trio import Runner
from llmeter_trio.sim import SimConfig, simulated_server
from llmeter_trio.workloads import Sessions

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def converse_input_shape() -> Any:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape


class TestNextTurn:
    def test_botocore_accepts_the_next_turn(self) -> None:
        """The body with the answer and the next message is a valid Converse request."""
        first = converse_payload("What is trio?", 64, system_prompt="Be brief.")
        second = BedrockConverseEndpoint.continue_conversation(first, "A library.", "Why?")
        third = BedrockConverseEndpoint.continue_conversation(second, "Nurseries.", "More?")
        botocore.validate.validate_parameters({**third, "modelId": CLAUDE}, converse_input_shape())
        assert [m["role"] for m in third["messages"]] == ["user", "assistant"] * 2 + ["user"]
        assert third["messages"][1] == {"role": "assistant", "content": [{"text": "A library."}]}
        assert first["messages"] == [first["messages"][0]]  # the given body is unchanged

    def test_botocore_refuses_a_plain_text_content(self) -> None:
        """(The check above can fail: content must be a list of blocks.)"""
        body = {"messages": [{"role": "user", "content": "hi"}], "modelId": CLAUDE}
        with pytest.raises(botocore.exceptions.ParamValidationError):
            botocore.validate.validate_parameters(body, converse_input_shape())


@pytest.fixture
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[0])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.mark.usefixtures("_credentials")
async def test_converse_sessions_against_the_sim(autojump_clock: trio.testing.MockClock) -> None:
    """Each turn's input is the prompt, the real answers and the follow-ups; its TTFT is the
    simulated server's ``ttft_base + ttft_per_input_token * input``, exactly."""
    config = SimConfig(ttft_base=0.1, ttft_per_input_token=0.01, itl=0.01, output_tokens=5)
    async with simulated_server(config) as base_url:
        endpoint = BedrockConverseEndpoint(
            model_id=CLAUDE, endpoint_url=base_url.removesuffix("/v1")
        )
        result = await Runner(endpoint).run(
            payload=converse_payload("one two three four", 64),
            n_requests=1,
            seed=3,
            sessions=Sessions(turns=3, think_time=1.0, follow_ups=["go on"]),
            show_progress=False,
        )
    records = sorted(result.responses, key=lambda r: r.turn or 0)
    assert [r.turn for r in records] == [1, 2, 3]
    assert all(not r.failed for r in records), [r.error for r in records]
    for record in records:
        assert record.turn is not None
        expected = 4 + (record.turn - 1) * (5 + 2)
        assert record.num_tokens_input == expected
        assert record.time_to_first_token == pytest.approx(config.ttft(expected), abs=1e-9)
    assert records[-1].session_end == "completed"
