"""LLMeter's `llmeter.endpoints.litellm` path: `LiteLLM` and `LiteLLMStreaming` from the plugin."""

from __future__ import annotations

from ._provider_module import import_provider

_litellm = import_provider("llmeter_trio_litellm", "llmeter-trio-litellm", "LiteLLM endpoints")
LiteLLM = _litellm.LiteLLM
LiteLLMStreaming = _litellm.LiteLLMStreaming

__all__ = ["LiteLLM", "LiteLLMStreaming"]
