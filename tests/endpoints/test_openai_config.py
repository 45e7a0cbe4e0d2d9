"""OpenAI endpoint options: secrets never saved nor shown, round trips, payload preparation."""

from __future__ import annotations

import orjson
import pytest

from llmeter_trio.endpoints import (
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)
from llmeter_trio.plugins import BUILTIN_PLUGIN, endpoint_from_config, new_plugin_manager

from ._openai_support import Server, chat_chunk, sse

ALL = [OpenAIChatEndpoint, OpenAICompletionsEndpoint, OpenAIResponsesEndpoint]
KEY = "sk-test-0123456789abcdef"
HEADER_KEY = "sk-header-fedcba9876543210"


def done_stream() -> Server:
    return Server(parts=[(0, sse(chat_chunk("ok"), "[DONE]"))])


class TestSecrets:
    """API keys and credential headers are sent, but never saved nor shown."""

    @pytest.mark.parametrize("cls", ALL)
    def test_config_and_repr_hold_no_credentials(self, cls: type) -> None:
        """Neither the key nor credential header/query values reach to_config() or repr()."""
        endpoint = cls(
            api_key=KEY,
            extra_headers={"Authorization": f"Bearer {HEADER_KEY}", "api-key": HEADER_KEY,
                           "Ocp-Apim-Subscription-Key": HEADER_KEY,
                           "X-Amz-Security-Token": HEADER_KEY, "X-Trace": "on"},
            extra_query={"api-version": "2024-10-21", "api_key": HEADER_KEY, "sig": HEADER_KEY},
        )  # fmt: skip
        saved = orjson.dumps(endpoint.to_config()).decode()
        shown = repr(endpoint)
        for text in (saved, shown):
            assert KEY not in text
            assert HEADER_KEY not in text
        config = endpoint.to_config()
        # header names stay, so a reader sees what was sent; values are masked
        assert config["extra_headers"] == {
            "Authorization": "***", "api-key": "***", "Ocp-Apim-Subscription-Key": "***",
            "X-Amz-Security-Token": "***", "X-Trace": "***",
        }  # fmt: skip
        expected_query = {"api-version": "2024-10-21", "api_key": "***", "sig": "***"}
        assert config["extra_query"] == expected_query
        assert "api_key" not in config
        assert "X-Trace" in shown and "2024-10-21" in shown  # what is sent stays visible

    async def test_key_and_headers_are_sent(self) -> None:
        """The key goes out as a bearer token, with the extra headers and query."""
        server = done_stream()
        endpoint = OpenAIChatEndpoint(
            api_key=KEY,
            extra_headers={"X-Trace": "on"},
            extra_query={"api-version": "v1"},
            transport=server.transport,
        )
        await endpoint.invoke(OpenAIChatEndpoint.create_payload("hi"))
        request = server.requests[0]
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["x-trace"] == "on"
        assert request.url.params["api-version"] == "v1"

    async def test_credential_header_overrides_the_key_header(self) -> None:
        """An Authorization given in extra_headers is the one sent."""
        server = done_stream()
        endpoint = OpenAIChatEndpoint(
            api_key=KEY, extra_headers={"Authorization": "Token abc"}, transport=server.transport
        )
        await endpoint.invoke(OpenAIChatEndpoint.create_payload("hi"))
        assert server.requests[0].headers["authorization"] == "Token abc"

    async def test_no_key_sends_no_authorization(self) -> None:
        """Local servers need no key: none is sent when there is none."""
        server = done_stream()
        endpoint = OpenAIChatEndpoint(transport=server.transport)
        assert endpoint.api_key is None
        await endpoint.invoke(OpenAIChatEndpoint.create_payload("hi"))
        assert "authorization" not in server.requests[0].headers

    def test_key_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """OPENAI_API_KEY by default, any variable by api_key_env; a given key wins."""
        monkeypatch.setenv("OPENAI_API_KEY", "from-default-var")
        monkeypatch.setenv("MY_GATEWAY_KEY", "from-my-var")
        assert OpenAIChatEndpoint().api_key == "from-default-var"
        assert OpenAIChatEndpoint(api_key_env="MY_GATEWAY_KEY").api_key == "from-my-var"
        assert OpenAIChatEndpoint(api_key="given").api_key == "given"

    def test_base_url_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """OPENAI_BASE_URL replaces the default base URL; a given one wins."""
        assert OpenAIChatEndpoint().base_url == "https://api.openai.com/v1"
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
        assert OpenAIChatEndpoint().base_url == "http://127.0.0.1:8000/v1"
        assert OpenAIChatEndpoint(base_url="http://x/v1").base_url == "http://x/v1"


class TestConfiguration:
    """Saved configurations rebuild the same endpoint."""

    @pytest.mark.parametrize("cls", ALL)
    def test_round_trip(self, cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
        """from_config(to_config()) gives an equal endpoint; the key comes from its variable."""
        monkeypatch.setenv("GATEWAY_KEY", KEY)
        endpoint = cls(
            model_id="gpt-x",
            endpoint_name="gateway",
            provider="acme",
            base_url="http://127.0.0.1:9/v1",
            api_key_env="GATEWAY_KEY",
            extra_headers={"Accept-Language": "en"},
            extra_query={"api-version": "1"},
            http2=True,
            verify="/etc/ssl/certs",
            max_response_chars=10,
        )
        config = endpoint.to_config()
        assert config["endpoint_type"] == cls.endpoint_type
        assert config["api_key_env"] == "GATEWAY_KEY"
        rebuilt = cls.from_config(orjson.loads(orjson.dumps(config)))
        assert rebuilt == endpoint
        assert rebuilt.api_key == KEY
        assert endpoint_from_config(config) == endpoint

    def test_round_trip_leaves_masked_values_out(self) -> None:
        """Masked headers and query values are not sent again by a rebuilt endpoint."""
        endpoint = OpenAIChatEndpoint(
            extra_headers={"api-key": HEADER_KEY, "X-Team": "perf", "Accept": "text/plain"},
            extra_query={"sig": HEADER_KEY, "api-version": "1"},
        )
        rebuilt = OpenAIChatEndpoint.from_config(endpoint.to_config())
        assert rebuilt.extra_headers == {"Accept": "text/plain"}
        assert rebuilt.extra_query == {"api-version": "1"}

    def test_transport_is_not_configuration(self) -> None:
        """The test-only transport hook is neither saved nor compared."""
        server = done_stream()
        endpoint = OpenAIChatEndpoint(transport=server.transport)
        assert "transport" not in endpoint.to_config()
        assert "_transport" not in endpoint.to_config()
        assert endpoint == OpenAIChatEndpoint()

    def test_registered_as_builtin_plugins(self) -> None:
        """The built-in plugin registers the three endpoint types under their names."""
        pm = new_plugin_manager()
        pm.register(BUILTIN_PLUGIN)
        found: dict[str, type] = {}
        pm.hook.register_endpoints(register=lambda cls: found.setdefault(cls.endpoint_type, cls))
        assert found["openai-chat"] is OpenAIChatEndpoint
        assert found["openai-completions"] is OpenAICompletionsEndpoint
        assert found["openai-responses"] is OpenAIResponsesEndpoint


class TestPreparePayload:
    """prepare_payload fills in the model, streaming and usage, and nothing the payload set."""

    def test_chat_defaults(self) -> None:
        """Model, stream and stream_options.include_usage are added; the input is not changed."""
        payload = {"messages": []}
        prepared = OpenAIChatEndpoint(model_id="m").prepare_payload(payload)
        assert prepared == {
            "messages": [],
            "model": "m",
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        assert payload == {"messages": []}

    def test_payload_settings_win(self) -> None:
        """A model, stream flag or stream option in the payload is kept."""
        endpoint = OpenAIChatEndpoint(model_id="m")
        options = {"continuous_usage_stats": True}
        prepared = endpoint.prepare_payload({"model": "other", "stream_options": options})
        assert prepared["model"] == "other"
        assert prepared["stream_options"] == {"continuous_usage_stats": True, "include_usage": True}
        assert options == {"continuous_usage_stats": True}
        no_usage = endpoint.prepare_payload({"stream_options": {"include_usage": False}})
        assert no_usage["stream_options"] == {"include_usage": False}
        plain = endpoint.prepare_payload({"stream": False})
        assert plain["stream"] is False
        assert "stream_options" not in plain

    def test_include_usage_off(self) -> None:
        """include_usage=False leaves stream_options out."""
        prepared = OpenAICompletionsEndpoint(include_usage=False).prepare_payload({"prompt": "x"})
        assert "stream_options" not in prepared
        assert "model" not in prepared  # no model id, no model

    def test_responses_has_no_stream_options(self) -> None:
        """The Responses API reports usage unasked."""
        prepared = OpenAIResponsesEndpoint(model_id="m").prepare_payload({"input": "x"})
        assert prepared == {"input": "x", "model": "m", "stream": True}

    @pytest.mark.parametrize("cls", ALL)
    def test_idempotent(self, cls: type) -> None:
        """Preparing twice is preparing once."""
        endpoint = cls(model_id="m")
        once = endpoint.prepare_payload(cls.create_payload("hi"))
        assert endpoint.prepare_payload(once) == once

    async def test_invoke_prepares_an_unprepared_payload(self) -> None:
        """A direct invoke with a raw payload still sends the model and streams with usage."""
        server = done_stream()
        endpoint = OpenAIChatEndpoint(model_id="m", transport=server.transport)
        await endpoint.invoke({"messages": [{"role": "user", "content": "hi"}]})
        assert server.bodies[0]["model"] == "m"
        assert server.bodies[0]["stream"] is True
        assert server.bodies[0]["stream_options"] == {"include_usage": True}


def test_public_names() -> None:
    """The openai package exports what it documents, sorted, and the endpoints re-export."""
    import llmeter_trio.endpoints as endpoints
    import llmeter_trio.endpoints.openai as openai_package

    assert list(openai_package.__all__) == sorted(openai_package.__all__)
    assert all(hasattr(openai_package, name) for name in openai_package.__all__)
    for name in ("OpenAIChatEndpoint", "OpenAICompletionsEndpoint", "OpenAIResponsesEndpoint"):
        assert name in endpoints.__all__
        assert getattr(endpoints, name) is getattr(openai_package, name)
