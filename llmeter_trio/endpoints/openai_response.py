"""LLMeter's `llmeter.endpoints.openai_response` path: the Responses API classes."""

from __future__ import annotations

from ._llmeter_names import OpenAIResponseEndpoint, OpenAIResponseStreamEndpoint

__all__ = ["OpenAIResponseEndpoint", "OpenAIResponseStreamEndpoint"]
