"""LLMeter's `llmeter.endpoints.anthropic_messages` path: the Messages API classes."""

from __future__ import annotations

from ._llmeter_names import AnthropicMessages, AnthropicMessagesStream

__all__ = ["AnthropicMessages", "AnthropicMessagesStream"]
