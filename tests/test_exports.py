"""The public API is pinned: what `llmeter_trio` exports is deliberate."""

from __future__ import annotations

import importlib

import pytest

import llmeter_trio

PUBLIC_MODULES = [
    "llmeter_trio",
    "llmeter_trio.callbacks",
    "llmeter_trio.compat",
    "llmeter_trio.endpoints",
    "llmeter_trio.engine",
    "llmeter_trio.experiments",
    "llmeter_trio.plugins",
    "llmeter_trio.schedules",
    "llmeter_trio.sim",
    "llmeter_trio.slo",
    "llmeter_trio.prompts",
    "llmeter_trio.stats",
    "llmeter_trio.storage",
    "llmeter_trio.tokenizers",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist_and_are_sorted(name: str) -> None:
    """Every name in __all__ exists, and __all__ is sorted so changes show in review."""
    module = importlib.import_module(name)
    assert all(hasattr(module, attr) for attr in module.__all__)
    assert list(module.__all__) == sorted(module.__all__)


def test_top_level_api() -> None:
    """The names LLMeter users reach for are at the top level."""
    assert set(llmeter_trio.__all__) == {
        "Callback", "DummyTokenizer", "Endpoint", "EndpointError", "ErrorClass",
        "FakeEndpoint", "HttpEndpoint", "InvocationResponse", "LiveProgress", "Result", "RunConfig",
        "RunInterrupted", "Runner", "StreamRecorder", "Tokenizer", "__version__", "hookimpl",
        "run_sync",
        "stop_run",
    }  # fmt: skip
