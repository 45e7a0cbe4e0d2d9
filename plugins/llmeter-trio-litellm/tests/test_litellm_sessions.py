"""Multi-turn sessions through LiteLLM: the next turn is OpenAI's chat format, as LiteLLM
takes it for every provider, and OpenAI's own request types accept it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai.types.chat as chat
from llmeter_trio_litellm import LiteLLMEndpoint
from pydantic import TypeAdapter

from llmeter_trio.endpoints import OpenAIChatEndpoint


def validated(value: Any) -> Any:
    """`value` with every lazily validated iterable read (so each item is checked)."""
    if isinstance(value, dict):
        return {k: validated(v) for k, v in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [validated(v) for v in value]
    return value


def test_the_next_turn_is_openai_chat() -> None:
    first = LiteLLMEndpoint.create_payload("What is trio?", 64, system_message="Be brief.")
    second = LiteLLMEndpoint.continue_conversation(first, "A library.", "Why?")
    assert second == OpenAIChatEndpoint.continue_conversation(first, "A library.", "Why?")
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    adapter = TypeAdapter(chat.completion_create_params.CompletionCreateParamsNonStreaming)
    assert validated(adapter.validate_python({**second, "model": "m"}))["messages"][2] == {
        "role": "assistant",
        "content": "A library.",
    }
    assert LiteLLMEndpoint.holds_conversations()
