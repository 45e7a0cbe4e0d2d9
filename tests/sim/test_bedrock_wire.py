"""The simulated server speaks Bedrock's runtime API, as boto3's client reads it.

boto3 is blocking: its calls run in a thread against the server on the real
clock (`realtime`); timelines are checked in virtual time by calling the app."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import trio
from botocore.exceptions import ClientError, EventStreamError

from llmeter_trio.sim import Faults, SimApp, SimConfig, call_app, plan, signed_headers

from ._wire_support import messages, with_client, with_fault

CONFIG = SimConfig(ttft_base=0.01, itl=0.001, output_tokens=6, reasoning_tokens=2)
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA_ARN = "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "one two three"}]}]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PDF = b"%PDF-1.4 tiny"
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


pytestmark = pytest.mark.usefixtures("no_aws_settings")


def claude_body(**extra: Any) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "one two"}],
        **extra,
    }


async def with_bedrock(function: Callable[[Any], Any], config: SimConfig = CONFIG) -> Any:
    return await with_client("bedrock-runtime", function, config)


@pytest.mark.realtime
class TestBoto3ReadsIt:
    async def test_converse(self) -> None:
        """Reasoning then text, usage, stop reason and latency, as boto3 parses them."""
        response = await with_bedrock(
            lambda c: c.converse(
                modelId=CLAUDE,
                messages=MESSAGES,
                system=[{"text": "be brief"}],
                additionalModelRequestFields=THINKING,
            )
        )
        reasoning, text = response["output"]["message"]["content"]
        assert reasoning["reasoningContent"]["reasoningText"]["text"] == "think " * 2
        assert text == {"text": "tok " * 4}
        assert response["stopReason"] == "end_turn"
        assert response["usage"] == {"inputTokens": 5, "outputTokens": 6, "totalTokens": 11}
        assert response["metrics"]["latencyMs"] == round((0.01 + 5 * 0.001) * 1000)

    async def test_converse_with_media(self) -> None:
        """Image and document blocks as boto3 encodes their raw bytes are accepted; the input
        tokens are the text's words only."""
        content = [
            {"text": "one two three"},
            {"image": {"format": "png", "source": {"bytes": PNG}}},
            {"document": {"format": "pdf", "name": "report", "source": {"bytes": PDF}}},
        ]
        response = await with_bedrock(
            lambda c: c.converse(modelId=CLAUDE, messages=[{"role": "user", "content": content}])
        )
        assert response["usage"]["inputTokens"] == 3

    async def test_converse_stream(self) -> None:
        """ConverseStream events in order; ``maxTokens`` below the answer cuts it."""

        def run(client: Any) -> list[dict[str, Any]]:
            response = client.converse_stream(
                modelId=CLAUDE, messages=MESSAGES, inferenceConfig={"maxTokens": 3}
            )
            return list(response["stream"])

        events = await with_bedrock(run)
        assert [next(iter(event)) for event in events] == [
            "messageStart",
            *["contentBlockDelta"] * 3,
            "contentBlockStop",
            "messageStop",
            "metadata",
        ]
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events[1:4])
        assert text == "tok " * 3
        assert events[-2] == {"messageStop": {"stopReason": "max_tokens"}}
        usage = events[-1]["metadata"]["usage"]
        assert usage == {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6}

    async def test_converse_stream_reasoning(self) -> None:
        def run(client: Any) -> list[dict[str, Any]]:
            response = client.converse_stream(
                modelId=CLAUDE, messages=MESSAGES, additionalModelRequestFields=THINKING
            )
            return list(response["stream"])

        events = await with_bedrock(run)
        deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
        thinking = [d["delta"]["reasoningContent"].get("text", "") for d in deltas[:3]]
        assert "".join(thinking) == "think " * 2 and deltas[2]["delta"]["reasoningContent"].get(
            "signature"
        )
        assert {d["contentBlockIndex"] for d in deltas[:3]} == {0}
        assert [d["delta"]["text"] for d in deltas[3:]] == ["tok "] * 4
        assert {d["contentBlockIndex"] for d in deltas[3:]} == {1}

    async def test_invoke_anthropic(self) -> None:
        """InvokeModel: Anthropic's message body, token counts in the headers."""
        response = await with_bedrock(
            lambda c: c.invoke_model(modelId=CLAUDE, body=json.dumps(claude_body()))
        )
        message = json.loads(response["body"].read())
        assert message["type"] == "message" and message["stop_reason"] == "end_turn"
        assert message["content"] == [{"type": "text", "text": "tok " * 6}]
        assert message["usage"]["input_tokens"] == 2 and message["usage"]["output_tokens"] == 6
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-bedrock-input-token-count"] == "2"
        assert headers["x-amzn-bedrock-output-token-count"] == "6"

    async def test_invoke_stream_anthropic(self) -> None:
        """Anthropic's stream events inside ``chunk`` messages; metrics in the last one."""

        def run(client: Any) -> list[dict[str, Any]]:
            response = client.invoke_model_with_response_stream(
                modelId=CLAUDE, body=json.dumps(claude_body(**THINKING))
            )
            return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]

        events = await with_bedrock(run)
        assert events[0]["type"] == "message_start"
        assert events[0]["message"]["usage"]["input_tokens"] == 2
        deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
        assert "".join(d.get("thinking", "") for d in deltas) == "think " * 2
        assert "".join(d.get("text", "") for d in deltas) == "tok " * 4
        assert events[-2]["delta"]["stop_reason"] == "end_turn"
        assert events[-2]["usage"]["output_tokens"] == 6
        assert events[-1]["type"] == "message_stop"
        metrics = events[-1]["amazon-bedrock-invocationMetrics"]
        assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (2, 6)
        assert metrics["firstByteLatency"] == 10  # the TTFT, in ms

    async def test_llama_by_arn(self) -> None:
        """A Meta Llama model id (here an ARN) gets Llama's generation bodies."""

        def run(client: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            body = json.dumps({"prompt": "a b c d", "max_gen_len": 3})
            whole = json.loads(client.invoke_model(modelId=LLAMA_ARN, body=body)["body"].read())
            stream = client.invoke_model_with_response_stream(modelId=LLAMA_ARN, body=body)
            return whole, [json.loads(event["chunk"]["bytes"]) for event in stream["body"]]

        whole, chunks = await with_bedrock(run)
        assert whole == {
            "generation": "tok " * 3,
            "prompt_token_count": 4,
            "generation_token_count": 3,
            "stop_reason": "length",
        }
        assert "".join(chunk["generation"] for chunk in chunks) == "tok " * 3
        assert chunks[0]["prompt_token_count"] == 4
        assert [chunk["generation_token_count"] for chunk in chunks] == [1, 2, 3, 3]
        assert chunks[-1]["stop_reason"] == "length"
        assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 3


@pytest.mark.realtime
class TestFaults:
    @pytest.mark.parametrize(
        ("fault", "status", "code"),
        [
            ("429", 429, "ThrottlingException"),
            ("503", 503, "ServiceUnavailableException"),
            ("500", 500, "InternalServerException"),
        ],
    )
    async def test_http_errors(self, fault: str, status: int, code: str) -> None:
        """Errors before the answer are ClientErrors with Bedrock's codes and statuses."""

        def run(client: Any) -> ClientError:
            with pytest.raises(ClientError) as raised:
                with_fault(client, fault).converse(modelId=CLAUDE, messages=MESSAGES)
            return raised.value

        error = await with_bedrock(run)
        assert error.response["Error"]["Code"] == code
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status

    async def test_throttled_mid_converse_stream(self) -> None:
        """``stream-429`` is a throttlingException message after the chunks sent."""
        config = SimConfig(output_tokens=5, faults=Faults(stream_error_after_chunks=2))

        def run(client: Any) -> tuple[list[dict[str, Any]], EventStreamError]:
            received = []
            response = with_fault(client, "stream-429").converse_stream(
                modelId=CLAUDE, messages=MESSAGES
            )
            with pytest.raises(EventStreamError) as raised:
                for event in response["stream"]:
                    received.append(event)
            return received, raised.value

        received, error = await with_bedrock(run, config)
        assert [next(iter(event)) for event in received] == ["messageStart"] + [
            "contentBlockDelta"
        ] * 2
        assert error.response["Error"]["Code"] == "throttlingException"

    async def test_model_stream_error_mid_invoke_stream(self) -> None:
        config = SimConfig(output_tokens=5, faults=Faults(stream_error_after_chunks=0))

        def run(client: Any) -> EventStreamError:
            response = with_fault(client, "stream-500").invoke_model_with_response_stream(
                modelId=CLAUDE, body=json.dumps(claude_body())
            )
            with pytest.raises(EventStreamError) as raised:
                list(response["body"])
            return raised.value

        error = await with_bedrock(run, config)
        assert error.response["Error"]["Code"] == "modelStreamErrorException"


def converse(model: str = CLAUDE, stream: bool = False) -> str:
    quoted = model.replace(":", "%3A").replace("/", "%2F")
    return f"/model/{quoted}/converse" + ("-stream" if stream else "")


class TestRefusals:
    @pytest.mark.parametrize(
        ("headers", "code"),
        [
            ({}, "MissingAuthenticationTokenException"),
            (signed_headers("sagemaker"), "InvalidSignatureException"),
            ({"authorization": "AWS4-HMAC-SHA256 Signature=ab"}, "IncompleteSignatureException"),
            (
                {"authorization": signed_headers("bedrock")["authorization"]},
                "IncompleteSignatureException",
            ),
        ],
    )
    async def test_unsigned_requests(self, headers: dict[str, str], code: str) -> None:
        """A request without a SigV4 signature for bedrock is refused with 403."""
        exchange = await call_app(SimApp(CONFIG), converse(), {"messages": MESSAGES}, headers)
        assert exchange.status == 403
        assert exchange.headers["x-amzn-errortype"] == code
        assert exchange.json()["message"]

    async def test_bearer_api_key(self) -> None:
        """Bedrock API keys (``Authorization: Bearer``) are accepted too."""
        headers = {"authorization": "Bearer bedrock-api-key-sim"}
        exchange = await call_app(SimApp(CONFIG), converse(), {"messages": MESSAGES}, headers)
        assert exchange.status == 200
        assert exchange.json()["usage"]["outputTokens"] == 6

    async def test_unknown_invoke_family(self) -> None:
        exchange = await call_app(
            SimApp(CONFIG), "/model/cohere.command-r-v1%3A0/invoke", {}, signed_headers("bedrock")
        )
        assert exchange.status == 400
        assert exchange.headers["x-amzn-errortype"] == "ValidationException"
        assert "anthropic.* and meta.*" in exchange.json()["message"]

    async def test_anthropic_body_needs_its_version(self) -> None:
        body = claude_body()
        del body["anthropic_version"]
        exchange = await call_app(
            SimApp(CONFIG), f"/model/{CLAUDE}/invoke", body, signed_headers("bedrock")
        )
        assert exchange.status == 400 and "anthropic_version" in exchange.json()["message"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestConverseContent:
    """Converse content blocks are checked as Bedrock checks them; media count no words."""

    async def ask(self, *content: Any) -> Any:
        body = {"messages": [{"role": "user", "content": list(content)}]}
        return await call_app(SimApp(CONFIG), converse(), body, signed_headers("bedrock"))

    async def test_media_blocks_accepted(self) -> None:
        exchange = await self.ask(
            {"document": {"format": "pdf", "name": "Q3 report", "source": {"bytes": b64(PDF)}}},
            {"text": "one two"},
            {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
            {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/clip.mp4"}}}},
            {"audio": {"format": "wav", "source": {"bytes": b64(b"RIFF....WAVE")}}},
        )
        assert exchange.status == 200
        assert exchange.json()["usage"]["inputTokens"] == 2

    @pytest.mark.parametrize(
        ("block", "message"),
        [
            ({"text": ["one", "two"]}, "text must be a string"),
            ({"image": {"source": {"bytes": b64(PNG)}}}, "image block needs a format"),
            ({"document": {"format": "pdf", "source": {"bytes": b64(PDF)}}}, "needs a name"),
            ({"image": {"format": "png", "source": {"bytes": "not base64!"}}}, "base64"),
            ({"audio": {"format": "wav", "source": {}}}, "base64"),
            ("one two", "must be an object"),
        ],
    )
    async def test_malformed_blocks_refused(self, block: Any, message: str) -> None:
        """LLMeter's old list-as-text payload among them: a ValidationException, no answer."""
        exchange = await self.ask(block)
        assert exchange.status == 400
        assert exchange.headers["x-amzn-errortype"] == "ValidationException"
        assert message in exchange.json()["message"]

    async def test_content_must_be_a_list(self) -> None:
        body = {"messages": [{"role": "user", "content": "one two"}]}
        exchange = await call_app(SimApp(CONFIG), converse(), body, signed_headers("bedrock"))
        assert exchange.status == 400 and "list of content blocks" in exchange.json()["message"]


class TestTimeline:
    async def test_converse_stream_follows_the_plan(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """messageStart goes out with the headers; each delta at its planned instant."""
        config = SimConfig(ttft_base=0.3, itl=0.02, output_tokens=5)
        expected = plan(config, random.Random(0), input_tokens=3)
        exchange = await call_app(
            SimApp(config), converse(stream=True), {"messages": MESSAGES}, signed_headers("bedrock")
        )
        assert exchange.status == 200
        assert exchange.headers["content-type"] == "application/vnd.amazon.eventstream"
        sent = messages(exchange)
        assert sent[0][0] == 0.0 and sent[0][1].headers[":event-type"] == "messageStart"
        deltas = [at for at, m in sent if m.headers[":event-type"] == "contentBlockDelta"]
        assert deltas == pytest.approx([chunk.at for chunk in expected.chunks])
        metadata = json.loads(sent[-1][1].payload)
        assert metadata["metrics"]["latencyMs"] == round(expected.duration * 1000)

    async def test_invoke_stream_chunks_carry_base64_json(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        config = SimConfig(ttft_base=0.1, itl=0.01, output_tokens=2)
        exchange = await call_app(
            SimApp(config),
            f"/model/{CLAUDE}/invoke-with-response-stream",
            claude_body(),
            signed_headers("bedrock"),
        )
        sent = messages(exchange)
        assert {m.headers[":event-type"] for _, m in sent} == {"chunk"}
        assert all(m.headers[":message-type"] == "event" for _, m in sent)
        first = json.loads(base64.b64decode(json.loads(sent[0][1].payload)["bytes"]))
        assert first["type"] == "message_start"
        assert exchange.headers["x-amzn-bedrock-content-type"] == "application/json"
