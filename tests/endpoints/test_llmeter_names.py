"""LLMeter's endpoint classes, made with LLMeter's documented arguments, run against the sim.

LLMeter (awslabs/llmeter, ``llmeter/endpoints/openai.py``, ``openai_response.py``,
``anthropic_messages.py``) takes ``model_id`` first, then ``endpoint_name``, ``api_key``
and ``provider`` (Anthropic: ``provider`` before ``api_key``, then ``aws_region``), and
hands other keyword arguments (``base_url``, ``default_headers``, ...) to the SDK client.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import trio

from llmeter_trio import Runner
from llmeter_trio.endpoints import (
    AnthropicMessages,
    AnthropicMessagesEndpoint,
    AnthropicMessagesStream,
    ChunkKind,
    Endpoint,
    OpenAIChatEndpoint,
    OpenAICompletionEndpoint,
    OpenAICompletionStreamEndpoint,
    OpenAIResponseEndpoint,
    OpenAIResponsesEndpoint,
    OpenAIResponseStreamEndpoint,
)
from llmeter_trio.plugins import endpoint_from_config
from llmeter_trio.sim import SimConfig, simulated_server

SIM = SimConfig(ttft_base=0.02, itl=0.004, output_tokens=6)
KEY = "sk-test-llmeter-names"

# (class, what it is here, streams, LLMeter's default endpoint_name)
CLASSES = [
    (OpenAICompletionEndpoint, OpenAIChatEndpoint, False, "openai"),
    (OpenAICompletionStreamEndpoint, OpenAIChatEndpoint, True, "openai"),
    (OpenAIResponseEndpoint, OpenAIResponsesEndpoint, False, "openai-response"),
    (OpenAIResponseStreamEndpoint, OpenAIResponsesEndpoint, True, "openai-response-stream"),
    (AnthropicMessages, AnthropicMessagesEndpoint, False, "anthropic-messages"),
    (AnthropicMessagesStream, AnthropicMessagesEndpoint, True, "anthropic-messages"),
]


def made_as_in_llmeter(cls: type[Any], base_url: str) -> Endpoint:
    """The class made as LLMeter's docs show: model id first, key, the SDK's base_url."""
    if issubclass(cls, AnthropicMessagesEndpoint):
        return cls("claude-sim", api_key=KEY, base_url=base_url.removesuffix("/v1"))  # type: ignore[no-any-return]
    return cls("gpt-sim", api_key=KEY, base_url=base_url)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("cls", "ours", "streams", "name"), CLASSES)
async def test_runs_against_the_simulator(
    cls: type[Any], ours: type[Any], streams: bool, name: str
) -> None:
    """Each class, made with LLMeter's arguments, runs a load test: streamed or not as its
    LLMeter namesake, whatever the payload asks; counts from the server."""
    with trio.fail_after(20):
        async with simulated_server(SIM) as base_url:
            endpoint = made_as_in_llmeter(cls, base_url)
            assert isinstance(endpoint, ours)
            assert (endpoint.endpoint_name, endpoint.model_id) == (
                name,
                "claude-sim" if ours is AnthropicMessagesEndpoint else "gpt-sim",
            )
            payload = cls.create_payload("a b c", 6, stream=not streams)  # (stream: overridden)
            result = await Runner(endpoint).run(payload=payload, n_requests=2)
    assert result.stats["failed_requests"] == 0, result.stats["errors_by_class"]
    for record in result.responses:
        assert record.input_payload is not None
        assert record.input_payload["stream"] is streams
        assert record.num_tokens_output == 6
        assert bool(record.chunks) is streams
        assert all(chunk.kind is ChunkKind.CONTENT for chunk in record.chunks)
        if streams:
            assert record.time_to_first_token is not None
            assert record.time_to_first_token >= SIM.ttft_base


@pytest.mark.parametrize(("cls", "ours", "streams", "name"), CLASSES)
def test_saved_as_ours(cls: type[Any], ours: type[Any], streams: bool, name: str) -> None:
    """The configuration is llmeter-trio's type with `stream` fixed; it rebuilds that type,
    which sends the same requests. The key is not in it."""
    endpoint = made_as_in_llmeter(cls, "http://127.0.0.1:9/v1")
    config = endpoint.to_config()
    assert config["endpoint_type"] == ours.endpoint_type
    assert config["stream"] is streams
    assert "api_key" not in config and KEY not in repr(endpoint)
    rebuilt = endpoint_from_config(config)
    assert type(rebuilt) is ours
    assert rebuilt.to_config() == config
    assert cls.from_config(config).to_config() == config  # the class itself reads it too


class TestArguments:
    """LLMeter's positional order, its SDK client arguments, and this project's options."""

    def test_positional_order(self) -> None:
        openai = OpenAICompletionStreamEndpoint("m", "my-name", KEY, "vllm")
        assert (openai.model_id, openai.endpoint_name, openai.api_key, openai.provider) == (
            "m", "my-name", KEY, "vllm",
        )  # fmt: skip
        claude = AnthropicMessagesStream("c", "my-claude", "anthropic", KEY)
        assert (claude.model_id, claude.endpoint_name, claude.api_key) == ("c", "my-claude", KEY)

    def test_client_arguments_and_options(self) -> None:
        """The SDK client's headers and query become extra_headers / extra_query; options
        of this project pass through."""
        endpoint = OpenAIResponseEndpoint(
            "m",
            default_headers={"X-Team": "a"},
            default_query={"api-version": "1"},
            organization="org-1",
            max_response_chars=10,
        )
        assert endpoint.extra_headers == {"X-Team": "a", "OpenAI-Organization": "org-1"}
        assert endpoint.extra_query == {"api-version": "1"}
        assert endpoint.max_response_chars == 10
        claude = AnthropicMessages("c", auth_token="t0ken-t0ken", anthropic_version="v2")
        assert claude.extra_headers == {"Authorization": "Bearer t0ken-t0ken"}
        assert claude.to_config()["extra_headers"] == {"Authorization": "***"}
        assert claude.anthropic_version == "v2"

    def test_ttft_visible_tokens_only_accepted(self) -> None:
        """Both first-token times are always recorded, so it changes nothing."""
        a = AnthropicMessagesStream("c", ttft_visible_tokens_only=False)
        b = OpenAIResponseStreamEndpoint("m", ttft_visible_tokens_only=True)
        assert a.stream is True and b.stream is True

    @pytest.mark.parametrize(("cls", "ours", "streams", "name"), CLASSES)
    def test_one_constructor_per_family(
        self, cls: type[Any], ours: type[Any], streams: bool, name: str
    ) -> None:
        """Every class takes its family's arguments, ttft_visible_tokens_only included (in
        LLMeter's stream classes' place); endpoint_name None is LLMeter's default name."""
        if ours is AnthropicMessagesEndpoint:
            endpoint = cls("c", None, "anthropic", KEY, None, False)
        else:
            endpoint = cls("m", None, KEY, "openai", False)
        assert (endpoint.endpoint_name, endpoint.api_key, endpoint.stream) == (name, KEY, streams)

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"timeout": 10}, TypeError, "timeout="),
            ({"colour": "red"}, TypeError, "unexpected argument 'colour'"),
            ({"stream": True}, ValueError, "always sends stream=False"),
        ],
    )
    def test_refused_with_a_reason(
        self, kwargs: dict[str, Any], error: type[Exception], match: str
    ) -> None:
        with pytest.raises(error, match=match):
            OpenAICompletionEndpoint("m", **kwargs)

    @pytest.mark.parametrize(
        "kwargs", [{"provider": "bedrock-mantle"}, {"aws_region": "us-east-1"}]
    )
    def test_anthropic_elsewhere_refused(self, kwargs: dict[str, Any]) -> None:
        """Claude on Bedrock is the AWS plugin's: said so, not silently sent to Anthropic."""
        with pytest.raises(ValueError, match="AWS plugin"):
            AnthropicMessages("c", **kwargs)


class TestRetries:
    """One rule for LLMeter's retry options: accepted, no effect; asking for retries warns."""

    @pytest.mark.parametrize("cls", [c[0] for c in CLASSES])
    def test_no_retries_asked_is_silent(self, cls: type[Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            endpoint = cls("m", max_retries=0)
        assert "max_retries" not in endpoint.to_config()

    def test_retries_asked_warn_at_the_callers_line(self) -> None:
        with pytest.warns(UserWarning, match=r"max_retries=2\) has no effect") as caught:
            OpenAICompletionStreamEndpoint("m", max_retries=2)
        assert caught[0].filename == __file__
        assert "Runner(retry=Retry(max_attempts=N))" in str(caught[0].message)  # what to do


# What LLMeter's Endpoint.to_dict()/save() write: its attributes and its class name.
LLMETER_DOCUMENTS = [
    (
        {"endpoint_name": "openai", "model_id": "gpt-4o-mini", "provider": "openai",
         "endpoint_type": "OpenAICompletionStreamEndpoint"},
        OpenAICompletionStreamEndpoint,
        True,
    ),
    (
        {"endpoint_name": "openai-response", "model_id": "gpt-4o-mini", "provider": "openai",
         "endpoint_type": "OpenAIResponseEndpoint"},
        OpenAIResponseEndpoint,
        False,
    ),
    (
        {"endpoint_name": "anthropic-messages", "model_id": "claude-x", "provider": "anthropic",
         "aws_region": None, "ttft_visible_tokens_only": True,
         "endpoint_type": "AnthropicMessagesStream"},
        AnthropicMessagesStream,
        True,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("document", "cls", "streams"), LLMETER_DOCUMENTS)
def test_loads_llmeters_endpoint_files(
    document: dict[str, Any], cls: type[Any], streams: bool, tmp_path: Path
) -> None:
    """LLMeter's class name in ``endpoint_type`` makes that class, from a dict or a file; the
    endpoint then saves as this project's type."""
    loaded = Endpoint.load(document)
    assert type(loaded) is cls
    assert (loaded.model_id, loaded.endpoint_name, loaded.stream) == (
        document["model_id"],
        document["endpoint_name"],
        streams,
    )
    assert document["endpoint_type"] == cls.__name__  # the dict given is not changed
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(document))
    from_file = Endpoint.load_from_file(path)
    assert from_file.to_dict() == loaded.to_dict()
    assert loaded.to_dict()["endpoint_type"] == cls.endpoint_type != cls.__name__


def test_loads_llmeters_newer_format_without_a_masked_value() -> None:
    """LLMeter's ``__llmeter_class__``/``__llmeter_state__`` document; a value masked on
    reading is left out rather than sent."""
    loaded = Endpoint.load(
        {
            "__llmeter_class__": "llmeter.endpoints.openai.OpenAICompletionEndpoint",
            "__llmeter_state__": {"model_id": "gpt-x", "endpoint_name": "mine", "api_key": "***"},
        }
    )
    assert type(loaded) is OpenAICompletionEndpoint
    assert (loaded.model_id, loaded.endpoint_name, loaded.api_key) == ("gpt-x", "mine", None)


@pytest.mark.plugins
@pytest.mark.parametrize("folder", ["legacy", "run"])
def test_the_endpoint_of_a_run_read_from_an_llmeter_folder(folder: str) -> None:
    """What `Result.load` keeps of an LLMeter run's endpoint (either format) loads as its
    class here."""
    pytest.importorskip("llmeter_trio_aws")
    from llmeter_trio import Result

    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "llmeter"
    run_config = Result.load(fixtures / folder).run_config
    assert run_config is not None
    endpoint = Endpoint.load(run_config.endpoint_config)
    assert type(endpoint).__name__ == "BedrockConverseStream"
    assert endpoint.model_id.startswith("anthropic.claude")


PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)


class TestCreatePayload:
    """LLMeter's `create_payload` forms on LLMeter's class names; this project's keep theirs."""

    @pytest.mark.parametrize("cls", [OpenAICompletionEndpoint, OpenAICompletionStreamEndpoint])
    def test_chat_items_become_ordered_parts(self, cls: type[Any]) -> None:
        from llmeter_trio.prompt_utils import DocumentContent, ImageContent

        image = ImageContent.from_bytes(PNG)
        report = DocumentContent(b"%PDF-1.4", "application/pdf", "/data/report.pdf")
        payload = cls.create_payload(["Compare", image, "with", report], max_tokens=9)
        content = payload["messages"][0]["content"]
        assert [part["type"] for part in content] == ["text", "image_url", "text", "file"]
        assert content[0]["text"] == "Compare" and content[2]["text"] == "with"
        assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert content[3]["file"]["filename"] == "report.pdf"
        assert payload["max_tokens"] == 9

    def test_chat_list_of_one_text_is_that_text(self) -> None:
        payload = OpenAICompletionEndpoint.create_payload(["just this"])
        assert payload["messages"] == [{"role": "user", "content": "just this"}]
        texts = OpenAICompletionEndpoint.create_payload(["a", "b"])["messages"][0]["content"]
        assert texts == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]

    def test_chat_items_keep_this_projects_options(self) -> None:
        payload = OpenAICompletionEndpoint.create_payload(
            ["a", "b"], system_prompt="be brief", images=[PNG], temperature=0
        )
        system, user = payload["messages"]
        assert system == {"role": "system", "content": "be brief"}
        assert [p["type"] for p in user["content"]] == ["text", "text", "image_url"]
        assert payload["temperature"] == 0

    def test_chat_items_refused_with_a_reason(self) -> None:
        from llmeter_trio.prompt_utils import VideoContent

        with pytest.raises(ValueError, match="must not be empty"):
            OpenAICompletionEndpoint.create_payload([])
        with pytest.raises(TypeError, match="str or MediaContent, not int"):
            OpenAICompletionEndpoint.create_payload(["a", 3])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="no video"):
            OpenAICompletionEndpoint.create_payload([VideoContent(b"\0", "video/mp4")])

    @pytest.mark.parametrize("cls", [OpenAIResponseEndpoint, OpenAIResponseStreamEndpoint])
    def test_responses_llmeter_arguments(self, cls: type[Any]) -> None:
        payload = cls.create_payload(["first", "second"], 64, "be brief")
        assert payload["input"] == [
            {"role": "user", "content": "first"},
            {"role": "user", "content": "second"},
        ]
        assert payload["max_output_tokens"] == 64 and payload["instructions"] == "be brief"
        assert cls.create_payload("hi", max_output_tokens=5)["max_output_tokens"] == 5
        assert cls.create_payload("hi", max_tokens=7) == {"input": "hi", "max_output_tokens": 7}

    def test_own_classes_keep_their_signature(self) -> None:
        assert OpenAIChatEndpoint.create_payload("hi", 3)["messages"][0]["content"] == "hi"
        with pytest.raises(TypeError):
            OpenAIResponsesEndpoint.create_payload("hi", 3, "positional instructions")  # type: ignore[call-arg]
