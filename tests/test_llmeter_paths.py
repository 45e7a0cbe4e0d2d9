"""LLMeter's module paths: `llmeter` changed to `llmeter_trio` in an import is the whole change."""

from __future__ import annotations

import importlib

import pytest

from llmeter_trio.endpoints._provider_module import import_provider

PATHS = {
    "llmeter_trio.runner": ["Runner", "Result"],
    "llmeter_trio.endpoints.base": ["Endpoint", "InvocationResponse"],
    "llmeter_trio.endpoints.openai": ["OpenAICompletionEndpoint", "OpenAICompletionStreamEndpoint"],
    "llmeter_trio.endpoints.openai_response": [
        "OpenAIResponseEndpoint",
        "OpenAIResponseStreamEndpoint",
    ],
    "llmeter_trio.endpoints.anthropic_messages": ["AnthropicMessages", "AnthropicMessagesStream"],
}

PLUGIN_PATHS = {
    "llmeter_trio.endpoints.bedrock": ["BedrockConverse", "BedrockConverseStream"],
    "llmeter_trio.endpoints.bedrock_invoke": ["BedrockInvoke", "BedrockInvokeStream"],
    "llmeter_trio.endpoints.sagemaker": ["SageMakerEndpoint", "SageMakerStreamEndpoint"],
    "llmeter_trio.endpoints.litellm": ["LiteLLM", "LiteLLMStreaming"],
}


@pytest.mark.parametrize("module", sorted(PATHS))
def test_llmeter_module_path_has_llmeter_names(module: str) -> None:
    imported = importlib.import_module(module)
    for name in PATHS[module]:
        assert isinstance(getattr(imported, name), type), f"{module}.{name}"


def test_runner_path_gives_the_engine_runner_and_result() -> None:
    from llmeter_trio.engine import Runner as EngineRunner
    from llmeter_trio.results import Result
    from llmeter_trio.runner import Result as RunnerResult
    from llmeter_trio.runner import Runner

    assert issubclass(Runner, EngineRunner)
    assert RunnerResult is Result


@pytest.mark.plugins
@pytest.mark.parametrize("module", sorted(PLUGIN_PATHS))
def test_provider_paths_come_from_the_plugins(module: str) -> None:
    plugin = "llmeter_trio_litellm" if module.endswith("litellm") else "llmeter_trio_aws"
    pytest.importorskip(plugin)
    imported = importlib.import_module(module)
    top = importlib.import_module("llmeter_trio.endpoints")
    for name in PLUGIN_PATHS[module]:
        cls = getattr(imported, name)
        assert cls.__module__.startswith(("llmeter_trio_aws", "llmeter_trio_litellm"))
        assert getattr(top, name) is cls  # `from llmeter_trio.endpoints import BedrockConverse`


def test_missing_plugin_says_what_to_install() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"pip install llmeter-trio-nothing$"):
        import_provider("llmeter_trio_nothing", "llmeter-trio-nothing", "Nothing endpoints")


def test_unknown_name_on_endpoints_is_an_attribute_error() -> None:
    top = importlib.import_module("llmeter_trio.endpoints")
    with pytest.raises(AttributeError, match="NoSuchEndpoint"):
        top.NoSuchEndpoint  # noqa: B018
