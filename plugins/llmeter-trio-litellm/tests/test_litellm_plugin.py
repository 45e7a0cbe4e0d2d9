"""The distribution's entry point, the endpoint's options, and LLMeter's names."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmeter_trio_litellm import LiteLLM, LiteLLMEndpoint, LiteLLMStreaming, plugin

from llmeter_trio import plugins
from llmeter_trio.cli._endpoints import build_endpoint, describe_endpoints

HERE = Path(__file__).resolve().parent
PYPROJECT = HERE.parent / "pyproject.toml"
KEY = "sk-litellm-test-0123456789abcdef"


class TestDistribution:
    def test_entry_point_names_the_plugin_module(self) -> None:
        tomllib = pytest.importorskip("tomllib")
        declared = tomllib.loads(PYPROJECT.read_text())
        group = declared["project"]["entry-points"][plugins.ENTRY_POINT_GROUP]
        assert group == {"litellm": "llmeter_trio_litellm.plugin"}
        assert importlib.import_module(group["litellm"]) is plugin
        dependencies = declared["project"]["dependencies"]
        assert "llmeter-trio" in dependencies
        assert any(d.startswith("litellm") for d in dependencies)

    def test_registers_the_endpoint(self) -> None:
        manager = plugins.new_plugin_manager()
        manager.register(plugin, name="litellm")
        registered: list[object] = []
        manager.hook.register_endpoints(register=registered.append)
        assert registered == [LiteLLMEndpoint]

    @pytest.mark.usefixtures("installed_plugin")
    def test_listed_and_built_as_the_command_line_does(self) -> None:
        """``llmeter-trio endpoints`` shows it with its options; ``--model`` gives LiteLLM's
        model string and ``--option`` the rest."""
        listing = describe_endpoints()
        assert "litellm  (llmeter_trio_litellm._endpoint.LiteLLMEndpoint)" in listing
        for option in ("model", "api_base", "api_key", "extra_kwargs", "max_retries"):
            assert f"    {option} " in listing
        endpoint = build_endpoint(
            "litellm", {"model_id": "openai/gpt-4o-mini", "api_base": "http://127.0.0.1:8/v1"}
        )
        assert isinstance(endpoint, LiteLLMEndpoint)
        assert (endpoint.model, endpoint.provider) == ("openai/gpt-4o-mini", "openai")

    @pytest.mark.realtime
    def test_loading_litellm_the_plugins_way_stays_offline(self) -> None:
        """A fresh process with only loopback reachable: importing and warming up LiteLLM
        through the plugin tries no connection; a plain ``import litellm`` would (which is
        what makes this test able to fail)."""
        script = (
            "import json, os, sys; sys.path[:0] = {paths!r}\n"
            "import litellm_loopback; litellm_loopback.install()\n"
            "{load}\n"
            "print(json.dumps(litellm_loopback.ATTEMPTS))\n"
        )
        paths = [str(HERE), str(HERE.parent)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
        seen = {}
        for name, load in (
            ("plugin", "from llmeter_trio_litellm._sdk import load_litellm; load_litellm()"),
            ("plain", "import litellm"),
        ):
            done = subprocess.run(
                [sys.executable, "-c", script.format(paths=paths, load=load)],
                capture_output=True, text=True, timeout=90, env=environment, check=True,
            )  # fmt: skip
            seen[name] = json.loads(done.stdout.strip().splitlines()[-1])
        assert seen["plugin"] == []
        assert seen["plain"], "LiteLLM no longer fetches its cost map: this test proves nothing"


class TestOptions:
    def test_model_names_the_provider_and_the_model(self) -> None:
        endpoint = LiteLLMEndpoint(model="bedrock/anthropic.claude-3-haiku")
        assert (endpoint.provider, endpoint.model_id) == ("bedrock", "anthropic.claude-3-haiku")
        bare = LiteLLMEndpoint(model="gpt-4o-mini")
        assert (bare.provider, bare.model_id) == ("litellm", "gpt-4o-mini")

    def test_a_model_is_required(self) -> None:
        with pytest.raises(ValueError, match="needs model="):
            LiteLLMEndpoint()

    def test_the_key_is_never_shown_nor_saved(self) -> None:
        endpoint = LiteLLMEndpoint(
            model="openai/m",
            api_key=KEY,
            extra_headers={"X-Api-Key": KEY},
            extra_kwargs={"aws_secret_access_key": KEY, "timeout": 30},
        )
        config = endpoint.to_config()
        assert KEY not in repr(endpoint)
        assert KEY not in json.dumps(config)
        assert config["extra_kwargs"] == {"aws_secret_access_key": "***", "timeout": 30}
        assert KEY in endpoint.secret_values()  # so the run scrubs it from error texts
        reloaded = LiteLLMEndpoint.from_config(config)
        assert reloaded.api_key is None
        assert reloaded.extra_kwargs == {"timeout": 30}

    def test_prepare_payload(self) -> None:
        """The endpoint's model wins; streaming unless the payload says otherwise, with the
        usage chunk asked for (other stream options kept)."""
        endpoint = LiteLLMEndpoint(model="openai/m")
        prepared = endpoint.prepare_payload(
            {"model": "other", "messages": [], "stream_options": {"x": 1}}
        )
        assert prepared["model"] == "openai/m"
        assert prepared["stream"] is True
        assert prepared["stream_options"] == {"x": 1, "include_usage": True}
        whole = endpoint.prepare_payload({"messages": [], "stream": False})
        assert whole["stream"] is False and "stream_options" not in whole
        quiet = LiteLLMEndpoint(model="openai/m", include_usage=False)
        assert "stream_options" not in quiet.prepare_payload({"messages": []})

    @pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
    def test_bad_max_retries(self, value: object) -> None:
        with pytest.raises(ValueError, match="max_retries"):
            LiteLLMEndpoint(model="openai/m", max_retries=value)  # type: ignore[arg-type]

    def test_create_payload(self) -> None:
        assert LiteLLMEndpoint.create_payload("hi", 10, system_message="be brief") == {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
            ],
            "max_tokens": 10,
        }
        several = LiteLLMEndpoint.create_payload(["a", "b"], temperature=0.5)
        assert several == {
            "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "max_tokens": 256,
            "temperature": 0.5,
        }


class TestLLMeterNames:
    def test_constructor_arguments(self) -> None:
        """``LiteLLM(litellm_model, model_id=None)`` as in LLMeter, plus any option by name."""
        whole = LiteLLM("bedrock/anthropic.claude-3-haiku", "claude-3-haiku", api_key=KEY)
        assert isinstance(whole, LiteLLMEndpoint)
        assert whole.model == "bedrock/anthropic.claude-3-haiku"
        assert whole.model_id == "claude-3-haiku"
        assert whole.provider == "bedrock"
        assert whole.stream is False
        streaming = LiteLLMStreaming(litellm_model="openai/gpt-4o-mini")
        assert (streaming.stream, streaming.model_id) == (True, "gpt-4o-mini")

    def test_streaming_is_forced_as_in_llmeter(self) -> None:
        payload = {"messages": [], "stream": True}
        assert LiteLLM("openai/m").prepare_payload(payload)["stream"] is False
        streamed = LiteLLMStreaming("openai/m").prepare_payload({"messages": [], "stream": False})
        assert streamed["stream"] is True
        assert streamed["stream_options"] == {"include_usage": True}

    def test_the_other_stream_flag_is_refused(self) -> None:
        with pytest.raises(ValueError, match="always sends stream=False"):
            LiteLLM("openai/m", stream=True)

    def test_saved_as_litellm_with_the_stream_flag(self) -> None:
        config = LiteLLMStreaming("openai/m", api_key=KEY).to_config()
        assert config["endpoint_type"] == "litellm"
        assert config["stream"] is True
        assert LiteLLMEndpoint.from_config(config).prepare_payload({})["stream"] is True
        assert LiteLLM.from_config(LiteLLM("openai/m").to_config()) == LiteLLM("openai/m")

    def test_create_payload_as_in_llmeter(self) -> None:
        """LLMeter's ``create_payload(user_message, max_tokens, system_message)``; the system
        message comes first, where chat models expect it."""
        payload = LiteLLMStreaming.create_payload(["a", "b"], 64, system_message="sys")
        assert payload["messages"][0] == {"role": "system", "content": "sys"}
        assert [m["content"] for m in payload["messages"][1:]] == ["a", "b"]
        assert payload["max_tokens"] == 64
