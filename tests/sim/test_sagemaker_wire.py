"""The simulated server speaks SageMaker's runtime API, as boto3's client reads it.

boto3 is blocking: its calls run in a thread against the server on the real
clock (`realtime`); timelines are checked in virtual time by calling the app."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import trio
from botocore.exceptions import ClientError, EventStreamError

from llmeter_trio.sim import Faults, SimApp, SimConfig, call_app, plan, signed_headers

from ._wire_support import messages, sse_events, with_client, with_fault

CONFIG = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=5, tokens_per_chunk=2)
TGI = {"inputs": "one two three", "parameters": {"max_new_tokens": 100}}
CHAT = {"messages": [{"role": "user", "content": "one two"}], "max_tokens": 3}


pytestmark = pytest.mark.usefixtures("no_aws_settings")


async def with_sagemaker(function: Callable[[Any], Any], config: SimConfig = CONFIG) -> Any:
    return await with_client("sagemaker-runtime", function, config)


def payload(events: list[dict[str, Any]]) -> bytes:
    return b"".join(event["PayloadPart"]["Bytes"] for event in events)


@pytest.mark.realtime
class TestBoto3ReadsIt:
    async def test_tgi_whole(self) -> None:
        """``max_new_tokens`` below the answer cuts it; ``details`` tells how many tokens."""
        body = {"inputs": "a b c", "parameters": {"max_new_tokens": 3, "details": True}}
        response = await with_sagemaker(
            lambda c: c.invoke_endpoint(
                EndpointName="tgi", Body=json.dumps(body), ContentType="application/json"
            )
        )
        assert json.loads(response["Body"].read()) == [
            {
                "generated_text": "tok " * 3,
                "details": {
                    "finish_reason": "length",
                    "generated_tokens": 3,
                    "input_length": 3,
                    "seed": None,
                },
            }
        ]
        assert response["ContentType"] == "application/json"

    async def test_tgi_stream(self) -> None:
        """TGI's token events in PayloadParts, one part per chunk of tokens."""

        def run(client: Any) -> list[dict[str, Any]]:
            response = client.invoke_endpoint_with_response_stream(
                EndpointName="tgi", Body=json.dumps(TGI)
            )
            return list(response["Body"])

        parts = await with_sagemaker(run)
        assert len(parts) == 3  # 5 tokens, 2 per chunk
        raw = payload(parts)
        assert raw.startswith(b'data:{"index":0,')
        tokens = [data for _, data in sse_events(raw)]
        assert "".join(t["token"]["text"] for t in tokens) == "tok " * 5
        assert [t["generated_text"] for t in tokens[:-1]] == [None] * 4
        assert tokens[-1]["generated_text"] == "tok " * 5
        assert tokens[-1]["details"]["finish_reason"] == "eos_token"
        assert tokens[-1]["details"]["generated_tokens"] == 5

    async def test_chat_body(self) -> None:
        """An OpenAI chat body (LMI, vLLM) gets chat completions, whole and streamed."""

        def run(client: Any) -> tuple[dict[str, Any], bytes]:
            whole = client.invoke_endpoint(EndpointName="lmi", Body=json.dumps(CHAT))
            body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
            stream = client.invoke_endpoint_with_response_stream(
                EndpointName="lmi", Body=json.dumps(body)
            )
            return json.loads(whole["Body"].read()), payload(list(stream["Body"]))

        whole, raw = await with_sagemaker(run)
        assert whole["choices"][0]["message"]["content"] == "tok " * 3
        assert whole["usage"]["completion_tokens"] == 3
        assert raw.endswith(b"data: [DONE]\n\n")
        chunks = [data for _, data in sse_events(raw.removesuffix(b"data: [DONE]\n\n"))]
        content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
        assert content == "tok " * 3
        assert chunks[-1]["usage"]["prompt_tokens"] == 2


@pytest.mark.realtime
class TestFaults:
    @pytest.mark.parametrize(
        ("fault", "status", "code"),
        [
            ("429", 400, "ThrottlingException"),  # SageMaker throttles with a 400
            ("500", 424, "ModelError"),  # a container's 5xx
            ("503", 503, "ServiceUnavailable"),
        ],
    )
    async def test_http_errors(self, fault: str, status: int, code: str) -> None:
        def run(client: Any) -> ClientError:
            with pytest.raises(ClientError) as raised:
                with_fault(client, fault).invoke_endpoint(EndpointName="tgi", Body=json.dumps(TGI))
            return raised.value

        error = await with_sagemaker(run)
        assert error.response["Error"]["Code"] == code
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
        if code == "ModelError":
            assert error.response["OriginalStatusCode"] == 500

    async def test_error_mid_stream(self) -> None:
        """A fault mid-stream is a ModelStreamError after the parts already sent."""
        config = SimConfig(output_tokens=4, faults=Faults(stream_error_after_chunks=2))

        def run(client: Any) -> tuple[list[dict[str, Any]], EventStreamError]:
            received = []
            response = with_fault(client, "stream-500").invoke_endpoint_with_response_stream(
                EndpointName="tgi", Body=json.dumps(TGI)
            )
            with pytest.raises(EventStreamError) as raised:
                for event in response["Body"]:
                    received.append(event)
            return received, raised.value

        received, error = await with_sagemaker(run, config)
        assert len(received) == 2
        assert error.response["Error"]["Code"] == "ModelStreamError"


class TestRefusals:
    @pytest.mark.parametrize(
        ("headers", "code"),
        [
            ({}, "MissingAuthenticationTokenException"),
            (signed_headers("bedrock"), "InvalidSignatureException"),
            ({"authorization": "Bearer key"}, "IncompleteSignatureException"),  # Bedrock only
        ],
    )
    async def test_unsigned_requests(self, headers: dict[str, str], code: str) -> None:
        exchange = await call_app(SimApp(CONFIG), "/endpoints/tgi/invocations", TGI, headers)
        assert exchange.status == 403
        assert exchange.headers["x-amzn-errortype"] == code

    async def test_unknown_body(self) -> None:
        exchange = await call_app(
            SimApp(CONFIG),
            "/endpoints/tgi/invocations",
            {"prompt": "x"},
            signed_headers("sagemaker"),
        )
        assert exchange.status == 400
        assert exchange.headers["x-amzn-errortype"] == "ValidationError"


class TestTimeline:
    async def test_payload_parts_follow_the_plan(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        config = SimConfig(ttft_base=0.25, itl=0.05, output_tokens=6, tokens_per_chunk=2)
        expected = plan(config, random.Random(0), input_tokens=3)
        exchange = await call_app(
            SimApp(config),
            "/endpoints/tgi/invocations-response-stream",
            TGI,
            signed_headers("sagemaker"),
        )
        assert exchange.status == 200
        assert exchange.headers["content-type"] == "application/vnd.amazon.eventstream"
        sent = messages(exchange)
        assert [m.headers[":event-type"] for _, m in sent] == ["PayloadPart"] * 3
        assert [at for at, _ in sent] == pytest.approx([chunk.at for chunk in expected.chunks])
