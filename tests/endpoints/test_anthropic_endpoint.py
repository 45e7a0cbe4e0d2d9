"""`AnthropicMessagesEndpoint`: requests as the Messages API wants them, answers recorded.

Request shape and options are checked with `httpx.MockTransport`; answers, streamed and
whole, against the simulated server over loopback HTTP; the command line through its
generic ``--option`` path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio

from llmeter_trio import Result, Runner
from llmeter_trio.cli import main
from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    ChunkKind,
    ErrorClass,
    TokenCountSource,
)
from llmeter_trio.endpoints.anthropic import DEFAULT_ANTHROPIC_VERSION
from llmeter_trio.sim import SimConfig, simulated_server

from .._support.threaded_sim import served_in_thread

KEY = "sk-ant-test-0123456789"
SIM = SimConfig(ttft_base=0.02, itl=0.005, output_tokens=6, reasoning_tokens=2)
THINKING = {"type": "enabled", "budget_tokens": 1024}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "Hello there"}],
    "stop_reason": "max_tokens",
    "usage": {
        "input_tokens": 5,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "output_tokens": 2,
    },
}


class Recorder:
    """A mock Messages API that answers `MESSAGE` (or `answer`) and keeps the requests."""

    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer or httpx.Response(200, json=MESSAGE)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def body(self, index: int = 0) -> dict[str, Any]:
        return orjson.loads(self.requests[index].content)  # type: ignore[no-any-return]


class TestRequests:
    """What goes on the wire: path, headers, payload."""

    async def test_headers_path_and_payload(self) -> None:
        """x-api-key and anthropic-version, no Authorization; the model added, stream false."""
        server = Recorder()
        endpoint = AnthropicMessagesEndpoint(
            base_url="https://api.example", model_id="claude-x", api_key=KEY,
            transport=server.transport,
        )  # fmt: skip
        payload = AnthropicMessagesEndpoint.create_payload("Hi", 32, stream=False)
        record = await endpoint.invoke(payload)
        assert record.error is None, record.error
        request = server.requests[0]
        assert str(request.url) == "https://api.example/v1/messages"
        assert request.headers["x-api-key"] == KEY
        assert request.headers["anthropic-version"] == DEFAULT_ANTHROPIC_VERSION
        assert request.headers["accept"] == "application/json"
        assert "authorization" not in request.headers
        assert server.body() == {
            "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}],
            "stream": False, "model": "claude-x",
        }  # fmt: skip

    async def test_whole_answer(self) -> None:
        """Text, id, stop reason and usage (cache reads and writes) from a message object."""
        endpoint = AnthropicMessagesEndpoint(api_key=KEY, transport=Recorder().transport)
        record = await endpoint.invoke({"max_tokens": 8, "messages": [], "stream": False})
        assert (record.response_text, record.id, record.stop_reason) == (
            "Hello there", "msg_1", "max_tokens",
        )  # fmt: skip
        assert record.num_tokens_input == 125  # the whole prompt: 5 + 100 read + 20 written
        assert record.num_tokens_input_cached == 100
        assert record.num_tokens_input_cache_write == 20
        assert record.num_tokens_output == 2
        assert record.num_tokens_input_source is TokenCountSource.SERVER

    def test_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, as the anthropic SDK reads them."""
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        endpoint = AnthropicMessagesEndpoint()
        assert (endpoint.api_key, endpoint.base_url) == (KEY, "http://127.0.0.1:9")
        assert endpoint.auth_headers()["x-api-key"] == KEY
        monkeypatch.setenv("MY_KEY", "sk-other")
        assert AnthropicMessagesEndpoint(api_key_env="MY_KEY").api_key == "sk-other"

    def test_defaults(self) -> None:
        """Without the environment: Anthropic's API, no key, so no x-api-key header."""
        endpoint = AnthropicMessagesEndpoint()
        assert endpoint.base_url == "https://api.anthropic.com"
        assert endpoint.api_key is None
        assert endpoint.auth_headers() == {"anthropic-version": "2023-06-01"}

    async def test_version_option(self) -> None:
        server = Recorder()
        endpoint = AnthropicMessagesEndpoint(
            anthropic_version="2099-01-01", transport=server.transport
        )
        await endpoint.invoke({"max_tokens": 8, "messages": [], "stream": False})
        assert server.requests[0].headers["anthropic-version"] == "2099-01-01"

    def test_bad_version_or_key_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Header values HTTP cannot carry are refused when the endpoint is made."""
        with pytest.raises(ValueError, match="anthropic_version"):
            AnthropicMessagesEndpoint(anthropic_version="2023-06-01\n")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY + "\n")
        with pytest.raises(ValueError, match=r"\$ANTHROPIC_API_KEY") as caught:
            AnthropicMessagesEndpoint()
        assert KEY not in str(caught.value)

    def test_max_tokens_required(self) -> None:
        """A payload without max_tokens is refused before the run, saying what to do."""
        with pytest.raises(ValueError, match="max_tokens"):
            AnthropicMessagesEndpoint().prepare_payload({"messages": []})

    @pytest.mark.parametrize(
        ("option", "payload_stream", "sent"),
        [(None, None, True), (None, False, False), (False, True, False), (True, False, True)],
    )
    def test_stream_option(
        self, option: bool | None, payload_stream: bool | None, sent: bool
    ) -> None:
        """`stream` None leaves the payload's flag (default true); True/False force it."""
        extra = {} if payload_stream is None else {"stream": payload_stream}
        endpoint = AnthropicMessagesEndpoint(stream=option, model_id="m")
        prepared = endpoint.prepare_payload(endpoint.create_payload("Hi", 8, **extra))
        assert prepared["stream"] is sent
        assert endpoint.is_prepared(prepared)
        assert not endpoint.is_prepared({**prepared, "stream": not sent}) or option is None

    def test_create_payload(self) -> None:
        """system or system_prompt (the chat endpoint's name) is the system prompt."""
        for name in ("system", "system_prompt"):
            payload = AnthropicMessagesEndpoint.create_payload("Hi", 16, **{name: "Be brief."})
            assert payload["system"] == "Be brief."
            assert AnthropicMessagesEndpoint.prompt_text(payload) == "Be brief.\nHi"

    def test_saved_configuration(self) -> None:
        """The key is never saved; the configuration rebuilds an equal endpoint."""
        endpoint = AnthropicMessagesEndpoint(api_key=KEY, model_id="m", stream=True)
        config = endpoint.to_config()
        assert config["endpoint_type"] == "anthropic-messages"
        assert "api_key" not in config and KEY not in repr(endpoint)
        rebuilt = AnthropicMessagesEndpoint.from_config(config)
        assert rebuilt.api_key is None
        assert rebuilt.to_config() == config


class TestErrors:
    """Error answers are classified by Anthropic's rules, not OpenAI's words."""

    @pytest.mark.parametrize(
        ("status", "kind", "error_class"),
        [
            (429, "rate_limit_error", ErrorClass.THROTTLED),
            (529, "overloaded_error", ErrorClass.SERVER),
            (500, "api_error", ErrorClass.SERVER),
            (401, "authentication_error", ErrorClass.CLIENT),
            (400, "invalid_request_error", ErrorClass.CLIENT),
        ],
    )
    async def test_http_errors(self, status: int, kind: str, error_class: ErrorClass) -> None:
        body = {"type": "error", "error": {"type": kind, "message": "no"}}
        answer = httpx.Response(status, json=body)
        endpoint = AnthropicMessagesEndpoint(transport=Recorder(answer).transport)
        record = await endpoint.invoke({"max_tokens": 8, "messages": []})
        assert record.error_class is error_class
        assert record.status_code == status
        assert record.error is not None
        assert record.error.startswith(f"HTTP {status}")
        assert record.error.endswith(f": {kind}: no")

    async def test_error_object_in_a_whole_answer(self) -> None:
        """A 200 whose body is an error object: classified by its type."""
        body = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        answer = httpx.Response(200, json=body)
        endpoint = AnthropicMessagesEndpoint(transport=Recorder(answer).transport)
        record = await endpoint.invoke({"max_tokens": 8, "messages": [], "stream": False})
        assert (record.error_class, record.error) == (
            ErrorClass.SERVER, "overloaded_error: busy",
        )  # fmt: skip

    async def test_a_rate_limit_word_in_a_client_error(self) -> None:
        """OpenAI's word rules would call this throttling; Anthropic's type says client."""
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": "quota"}}
        answer = httpx.Response(200, json=body)
        endpoint = AnthropicMessagesEndpoint(transport=Recorder(answer).transport)
        record = await endpoint.invoke({"max_tokens": 8, "messages": [], "stream": False})
        assert record.error_class is ErrorClass.CLIENT


class TestAgainstTheSimulator:
    """Streamed and whole answers from the simulated server over loopback HTTP."""

    @pytest.mark.parametrize("stream", [True, False])
    @pytest.mark.parametrize("thinking", [True, False])
    async def test_answers(self, stream: bool, thinking: bool) -> None:
        """Counts from the server's usage; thinking streams first, as reasoning, not text."""
        extra: dict[str, Any] = {"stream": stream}
        if thinking:
            extra["thinking"] = THINKING
        with trio.fail_after(20):
            async with simulated_server(SIM) as base_url:
                endpoint = AnthropicMessagesEndpoint(
                    base_url=base_url.removesuffix("/v1"), model_id=SIM.model, api_key=KEY
                )
                payload = endpoint.prepare_payload(endpoint.create_payload("a b c", 64, **extra))
                async with endpoint.open_session(1):
                    record = await endpoint.invoke(payload)
        assert record.error is None, record.error
        assert (record.num_tokens_input, record.num_tokens_output) == (3, 6)
        assert (record.stop_reason, record.num_tokens_input_cache_write) == ("end_turn", 0)
        assert record.input_prompt == "a b c"
        content = 4 if thinking else 6
        assert record.response_text == "tok " * content
        if not stream:
            assert record.chunks == [] and record.time_to_first_token is None
            return
        kinds = [chunk.kind for chunk in record.chunks]
        assert kinds == [ChunkKind.REASONING] * (6 - content) + [ChunkKind.CONTENT] * content
        assert record.time_to_first_token is not None
        assert record.time_to_first_content_token is not None
        assert SIM.ttft_base <= record.time_to_first_token
        if thinking:
            assert record.time_to_first_token < record.time_to_first_content_token

    @pytest.mark.parametrize("stream", [True, False])
    async def test_text_cap(self, stream: bool) -> None:
        """max_response_chars keeps the start of the text; counts and timing cover it all."""
        with trio.fail_after(20):
            async with simulated_server(SIM) as base_url:
                endpoint = AnthropicMessagesEndpoint(
                    base_url=base_url.removesuffix("/v1"), api_key=KEY, model_id="m",
                    max_response_chars=5, stream=stream,
                )  # fmt: skip
                record = await endpoint.invoke(endpoint.create_payload("a", 64))
        assert record.error is None, record.error
        assert (record.response_text, record.truncated_chars) == ("tok t", 24 - 5)
        assert record.num_tokens_output == 6
        if stream:
            assert sum(chunk.chars for chunk in record.chunks) == 24

    async def test_a_saved_run_loads_back(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The run's folder holds the configuration, not the key; it loads back with both
        (the key from the environment again)."""
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        with trio.fail_after(20):
            async with simulated_server(SIM) as base_url:
                endpoint = AnthropicMessagesEndpoint(
                    base_url=base_url.removesuffix("/v1"), model_id="m", anthropic_version="v9"
                )
                result = await Runner(endpoint, output_path=str(tmp_path)).run(
                    payload=endpoint.create_payload("a b", 16), n_requests=2, run_name="r"
                )
        assert result.stats["failed_requests"] == 0
        saved = "".join(f.read_text() for f in (tmp_path / "r").rglob("*") if f.is_file())
        assert KEY not in saved
        loaded = Result.load(str(tmp_path / "r"))
        assert loaded.run_config is not None
        rebuilt = loaded.run_config.endpoint()
        assert isinstance(rebuilt, AnthropicMessagesEndpoint)
        assert rebuilt.to_config() == endpoint.to_config()
        assert rebuilt.api_key == KEY
        assert [r.stop_reason for r in loaded.responses] == ["end_turn", "end_turn"]


@pytest.mark.realtime
def test_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --endpoint anthropic-messages --base-url ... --model ...`, options by --option."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    folder = tmp_path / "cli"
    with served_in_thread(SIM) as origin:
        code = main(
            ["run", "--endpoint", "anthropic-messages", "--base-url", origin, "--model", "m",
             "--prompt", "hello there", "--max-tokens", "16", "--n-requests", "2",
             "--option", "anthropic_version=2023-06-01", "--option", "stream=false",
             "--output", str(folder)]
        )  # fmt: skip
    assert code == 0
    result = Result.load(str(folder))
    assert result.stats["failed_requests"] == 0
    assert result.stats["num_tokens_output-p50"] == 6
    assert result.run_config is not None
    assert result.run_config.endpoint_config["stream"] is False
    assert KEY not in (folder / "run_config.json").read_text()
