"""LLMeter's endpoint classes, made with LLMeter's arguments, run against the simulated server."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import trio
import trio.testing
from aws_sim import CLAUDE, LLAMA
from conftest import ACCESS_KEY, SECRET_KEY
from llmeter_trio_aws import (
    BedrockConverse,
    BedrockConverseEndpoint,
    BedrockConverseStream,
    BedrockInvoke,
    BedrockInvokeEndpoint,
    BedrockInvokeStream,
    SageMakerEndpoint,
    SageMakerInvokeEndpoint,
    SageMakerStreamEndpoint,
    invoke_payload,
)

from llmeter_trio import Result, Runner
from llmeter_trio.endpoints import Endpoint
from llmeter_trio.plugins import endpoint_from_config
from llmeter_trio.prompt_utils import (
    AudioContent,
    DocumentContent,
    ImageContent,
    VideoContent,
    load_payloads,
    save_payloads,
)
from llmeter_trio.sim import CONTENT_WORD, SimConfig, plan, simulated_server

CONFIG = SimConfig(ttft_base=0.1, ttft_per_input_token=0.001, itl=0.02, output_tokens=8)
PROMPT = "one two three four"
KEYS: dict[str, Any] = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}


def bedrock_client(url: str) -> Any:
    """A boto3 client as a LLMeter user makes one for a custom endpoint."""
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=url, **KEYS)


def session() -> Any:
    return boto3.Session(region_name="us-east-1", **KEYS)


# name: (make the endpoint from the sim's URL, payload, tokens the answer has, streamed)
CASES: dict[str, tuple[Callable[[str], Endpoint], dict[str, Any], int, bool]] = {
    "BedrockConverse": (
        lambda url: BedrockConverse(
            model_id=CLAUDE,
            region="us-east-1",
            inference_config={"maxTokens": 5},
            **KEYS,
            endpoint_url=url,
        ),
        {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]},
        5,
        False,
    ),
    "BedrockConverseStream": (
        lambda url: BedrockConverseStream(
            model_id=CLAUDE,
            bedrock_boto3_client=bedrock_client(url),
            ttft_visible_tokens_only=False,
        ),
        BedrockConverseStream.create_payload(PROMPT),
        8,
        True,
    ),
    "BedrockInvoke": (
        lambda url: BedrockInvoke(
            LLAMA,
            "llama",
            bedrock_boto3_client=bedrock_client(url),
            generated_text_jmespath="generation",
            generated_token_count_jmespath="generation_token_count",
            input_text_jmespath="prompt",
            input_token_count_jmespath="prompt_token_count",
        ),
        invoke_payload("meta", PROMPT, None),
        8,
        False,
    ),
    "BedrockInvokeStream": (
        lambda url: BedrockInvokeStream(
            model_id=CLAUDE, bedrock_boto3_client=bedrock_client(url), max_attempts=1
        ),
        invoke_payload("anthropic", PROMPT, 100),
        8,
        True,
    ),
    "SageMakerEndpoint": (
        lambda url: SageMakerEndpoint(
            "tgi-endpoint",
            "my-model",
            generated_text_jmespath="[0].generated_text",
            boto3_session=session(),
            endpoint_url=url,
        ),
        SageMakerEndpoint.create_payload(PROMPT, 6),
        6,
        False,
    ),
    "SageMakerStreamEndpoint": (
        lambda url: SageMakerStreamEndpoint(
            endpoint_name="tgi-endpoint",
            model_id="my-model",
            boto3_session=session(),
            endpoint_url=url,
        ),
        SageMakerStreamEndpoint.create_payload(PROMPT, 6, {"temperature": 0.1}),
        6,
        True,
    ),
}
NATIVE: dict[str, type[Endpoint]] = {
    "BedrockConverse": BedrockConverseEndpoint,
    "BedrockConverseStream": BedrockConverseEndpoint,
    "BedrockInvoke": BedrockInvokeEndpoint,
    "BedrockInvokeStream": BedrockInvokeEndpoint,
    "SageMakerEndpoint": SageMakerInvokeEndpoint,
    "SageMakerStreamEndpoint": SageMakerInvokeEndpoint,
}


@pytest.mark.parametrize("name", list(CASES))
async def test_runs_against_the_simulator(
    name: str, autojump_clock: trio.testing.MockClock
) -> None:
    """Made as LLMeter's docs make it, it measures the simulator's truth, and saves as the
    plugin's own endpoint, which loads back with the same options."""
    make, payload, tokens, streamed = CASES[name]
    async with simulated_server(CONFIG) as base_url:
        endpoint = make(base_url.removesuffix("/v1"))
        result = await Runner(endpoint).run(payload=payload, clients=2, n_requests=1)
    assert type(endpoint).__name__ == name and isinstance(endpoint, NATIVE[name])
    timeline = plan(CONFIG, random.Random(0), input_tokens=4, token_cap=tokens, reasoning=False)
    for record in result.responses:
        assert record.error is None
        assert record.response_text == CONTENT_WORD * tokens
        assert (record.num_tokens_input, record.num_tokens_output) == (4, tokens)
        assert record.time_to_last_token == pytest.approx(timeline.duration)
        if streamed:
            assert record.time_to_first_token == pytest.approx(timeline.chunks[0].at)
            assert len(record.chunks) == tokens
    config = endpoint.to_config()
    assert config["endpoint_type"] == NATIVE[name].endpoint_type
    assert config["region"] == "us-east-1"
    assert config["stream"] is streamed
    reloaded = endpoint_from_config(config)
    assert type(reloaded) is NATIVE[name]
    assert reloaded.to_config() == config
    assert isinstance(result, Result)


def test_llmeter_payloads() -> None:
    """The classes' create_payload make LLMeter's bodies."""
    assert BedrockConverse.create_payload("hi", inferenceConfig={"temperature": 0.5}) == {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"temperature": 0.5, "maxTokens": 256},
    }
    assert SageMakerStreamEndpoint.create_payload("hi", 10, {"temperature": 0.1}, seed=3) == {
        "inputs": "hi",
        "parameters": {"max_new_tokens": 10, "details": True, "temperature": 0.1},
        "seed": 3,
        "stream": True,
    }
    assert "stream" not in SageMakerEndpoint.create_payload("hi")


def test_paths_left_at_llmeters_defaults_keep_the_family() -> None:
    """Only the paths a user changed replace the model family's preset."""
    defaults = BedrockInvokeStream(model_id=CLAUDE, region="us-east-1")
    assert defaults.family == "anthropic"
    assert defaults.model_format.stream.text == "delta.text"
    changed = BedrockInvoke(model_id=CLAUDE, region="us-east-1", generated_text_jmespath="x.y")
    assert changed.model_format.body.text == "x.y"
    assert changed.model_format.body.output_tokens == "usage.output_tokens"


@pytest.mark.parametrize("cls", [BedrockInvoke, BedrockInvokeStream])
def test_a_path_given_as_llmeters_default_or_none_keeps_the_family(cls: type[Any]) -> None:
    """Each Invoke class compares the paths with its own LLMeter defaults (streamed or not)."""
    llmeter_defaults = {
        BedrockInvoke: "choices[0].message.content",
        BedrockInvokeStream: "choices[0].delta.content",
    }
    for given in (llmeter_defaults[cls], None):
        endpoint = cls(CLAUDE, None, "us-east-1", None, 1, given, None)
        assert endpoint.text_path is None
        assert endpoint.model_format.stream.text == "delta.text"


def test_converse_takes_ttft_visible_tokens_only_in_llmeters_place() -> None:
    """BedrockConverseStream's seventh argument; both classes take it (it changes nothing)."""
    for cls in (BedrockConverse, BedrockConverseStream):
        endpoint = cls(CLAUDE, "mine", "us-east-1", None, None, 1, False)
        assert (endpoint.endpoint_name, endpoint.stream) == ("mine", cls is BedrockConverseStream)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PDF = b"%PDF-1.4 tiny"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 8
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt "


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestMediaLists:
    """LLMeter's ``create_payload([...])``: text and media as blocks, in the list's order."""

    def test_converse_blocks_in_order(self, tmp_path: Path) -> None:
        report = tmp_path / "Q3 report.pdf"
        report.write_bytes(PDF)
        items = [
            "Compare:",
            DocumentContent.from_path(report),
            ImageContent.from_bytes(PNG),
            "then",
            VideoContent.from_bytes(MP4),
            AudioContent.from_bytes(WAV),
            DocumentContent.from_bytes(PDF),
        ]
        payload = BedrockConverseStream.create_payload(items, 50, inferenceConfig={"topP": 0.5})
        assert payload == {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "Compare:"},
                        {
                            "document": {
                                "format": "pdf",
                                "name": "Q3 report",
                                "source": {"bytes": b64(PDF)},
                            }
                        },
                        {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
                        {"text": "then"},
                        {"video": {"format": "mp4", "source": {"bytes": b64(MP4)}}},
                        {"audio": {"format": "wav", "source": {"bytes": b64(WAV)}}},
                        {
                            "document": {
                                "format": "pdf",
                                "name": "document-2",
                                "source": {"bytes": b64(PDF)},
                            }
                        },
                    ],
                }
            ],
            "inferenceConfig": {"topP": 0.5, "maxTokens": 50},
        }

    def test_converse_texts_and_attachments(self) -> None:
        """A list of texts is a text block each; ``images=`` come after the list's blocks;
        a list of one text is the plain text body."""
        payload = BedrockConverse.create_payload(["a", "b"], images=[PNG])
        assert [next(iter(block)) for block in payload["messages"][0]["content"]] == [
            "text",
            "text",
            "image",
        ]
        assert BedrockConverse.create_payload(["hi"]) == BedrockConverse.create_payload("hi")

    @pytest.mark.parametrize(
        ("message", "error", "match"),
        [
            ([], ValueError, "user_message must not be empty"),
            ([123], TypeError, "content items must be str or MediaContent, not int"),
            (42, TypeError, "user_message must be a str or a list"),
            (
                [VideoContent(b"RIFF", "video/x-msvideo")],
                ValueError,
                "Bedrock takes videos as flv, mkv, mov, mp4, mpeg, three_gp, webm, wmv, not "
                "video/x-msvideo",
            ),
        ],
    )
    def test_converse_refusals(self, message: Any, error: type[Exception], match: str) -> None:
        """What Converse cannot take is a clear error, never a malformed body."""
        with pytest.raises(error, match=re.escape(match)):
            BedrockConverse.create_payload(message)

    def test_sagemaker_blocks(self) -> None:
        """LLMeter's shape: ``inputs`` the blocks, for containers that take them."""
        payload = SageMakerStreamEndpoint.create_payload(["a", ImageContent.from_bytes(PNG)], 9)
        assert payload == {
            "inputs": [{"text": "a"}, {"image": {"format": "png", "source": {"bytes": b64(PNG)}}}],
            "parameters": {"details": True, "max_new_tokens": 9},
            "stream": True,
        }
        assert SageMakerEndpoint.create_payload(["a"]) == SageMakerEndpoint.create_payload("a")
        with pytest.raises(ValueError, match="input_text must not be empty"):
            SageMakerEndpoint.create_payload([])

    def test_invoke_one_message_per_text(self) -> None:
        """As LLMeter's BedrockInvoke: a user message each; in the endpoint's family on an
        endpoint; a family with one prompt (Llama) refuses a list."""
        assert BedrockInvoke.create_payload(["a", "b"], 5) == {
            "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "max_tokens": 5,
        }
        claude = BedrockInvokeStream(model_id=CLAUDE, region="us-east-1")
        payload = claude.create_payload(["a", "b"], system_prompt="s")
        assert payload["system"] == "s"
        assert payload["messages"] == [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
        ]
        llama = BedrockInvoke(model_id=LLAMA, region="us-east-1")
        with pytest.raises(ValueError, match="the meta body takes one prompt"):
            llama.create_payload(["a", "b"])
        with pytest.raises(TypeError, match="a str or a list of str"):
            BedrockInvoke.create_payload(["a", ImageContent.from_bytes(PNG)])  # type: ignore[list-item]


async def test_a_multimodal_run_against_the_simulator(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Image and document blocks are sent and accepted; the input tokens are the text's."""
    report = tmp_path / "report.pdf"
    report.write_bytes(PDF)
    items = [ImageContent.from_bytes(PNG), PROMPT, DocumentContent.from_path(report)]
    payload = BedrockConverseStream.create_payload(items, 6)
    async with simulated_server(CONFIG) as base_url:
        endpoint = BedrockConverseStream(
            model_id=CLAUDE, bedrock_boto3_client=bedrock_client(base_url.removesuffix("/v1"))
        )
        result = await Runner(endpoint).run(payload=payload, clients=2, n_requests=2)
    assert [r.error for r in result.responses] == [None] * 4
    assert {(r.num_tokens_input, r.num_tokens_output) for r in result.responses} == {(4, 6)}
    assert {r.input_prompt for r in result.responses} == {PROMPT}


async def test_raw_bytes_as_llmeter_keeps_them(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A payload holding raw bytes (LLMeter's, as its payload files load) is sent with them
    in base64, as boto3 would; the record keeps the body sent."""
    raw = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": PROMPT},
                    {"image": {"format": "png", "source": {"bytes": PNG}}},
                ],
            }
        ]
    }
    path = save_payloads(raw, tmp_path)
    (loaded,) = load_payloads(path)
    assert loaded == raw
    async with simulated_server(CONFIG) as base_url:
        endpoint = BedrockConverse(
            model_id=CLAUDE, bedrock_boto3_client=bedrock_client(base_url.removesuffix("/v1"))
        )
        assert not endpoint.is_prepared(loaded)
        result = await Runner(endpoint).run(payload=loaded, clients=1, n_requests=1)
    (record,) = result.responses
    assert record.error is None and record.num_tokens_input == 4
    assert record.input_payload is not None
    sent = record.input_payload["messages"][0]["content"][1]["image"]["source"]["bytes"]
    assert sent == b64(PNG)
    assert loaded["messages"][0]["content"][1]["image"]["source"]["bytes"] == PNG  # not changed


def test_sagemaker_sends_raw_bytes_in_base64() -> None:
    endpoint = SageMakerEndpoint("e", "m", region="us-east-1")
    body = {"inputs": [{"image": {"format": "png", "source": {"bytes": PNG}}}]}
    assert not endpoint.is_prepared(body)
    prepared = endpoint.prepare_payload(body)
    assert prepared["inputs"][0]["image"]["source"]["bytes"] == b64(PNG)
    assert endpoint.is_prepared(prepared)


AWS_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize("fault", [None, "429"])
@pytest.mark.parametrize("stream", [False, True])
async def test_records_carry_the_aws_request_id(
    stream: bool, fault: str | None, autojump_clock: trio.testing.MockClock
) -> None:
    """As LLMeter's (boto3's ``ResponseMetadata.RequestId``): each record's id is its answer's
    ``x-amzn-RequestId``, answered or refused (the simulator's are dashed UUIDs, unlike the
    ids a run makes up)."""
    headers = {"x-sim-fault": fault} if fault else {}
    async with simulated_server(CONFIG) as base_url:
        endpoint = BedrockConverse(
            model_id=CLAUDE,
            region="us-east-1",
            **KEYS,
            endpoint_url=base_url.removesuffix("/v1"),
            stream=stream,
            extra_headers=headers,
        )
        result = await Runner(endpoint).run(payload=CASES["BedrockConverse"][1], n_requests=3)
    assert [record.failed for record in result.responses] == [fault is not None] * 3
    ids = [record.id for record in result.responses]
    assert all(i is not None and AWS_REQUEST_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 3
