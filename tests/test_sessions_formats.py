"""`Endpoint.continue_conversation`: each format's next turn, as its official client's request
types accept it (OpenAI chat and Responses), or as its API requires (Anthropic's alternating
roles); the simulated server accepts all three in tests/test_sessions.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai.types.chat as chat
import openai.types.responses as responses
import pytest
from pydantic import TypeAdapter, ValidationError

from llmeter_trio.endpoints import (
    AnthropicMessagesEndpoint,
    Endpoint,
    FakeEndpoint,
    OpenAIChatEndpoint,
    OpenAICompletionsEndpoint,
    OpenAIResponsesEndpoint,
)

CHAT = TypeAdapter(chat.completion_create_params.CompletionCreateParamsNonStreaming)
RESPONSES = TypeAdapter(responses.response_create_params.ResponseCreateParamsNonStreaming)


def validated(adapter: TypeAdapter[Any], payload: dict[str, Any]) -> Any:
    """`payload` (with a model) through the client's request type, every item checked."""

    def read(value: Any) -> Any:  # pydantic checks the items of an Iterable lazily
        if isinstance(value, dict):
            return {k: read(v) for k, v in value.items()}
        if isinstance(value, list | tuple | Iterator):
            return [read(v) for v in value]
        return value

    return read(adapter.validate_python({**payload, "model": "m"}))


def three_turns(cls: type[Endpoint], first: dict[str, Any]) -> dict[str, Any]:
    second = cls.continue_conversation(first, "It is a library.", "Why nurseries?")
    return cls.continue_conversation(second, "Structured concurrency.", "Show me.")


class TestOpenAIChat:
    def test_the_client_types_accept_the_next_turns(self) -> None:
        first = OpenAIChatEndpoint.create_payload("What is trio?", 64, system_prompt="Brief.")
        third = validated(CHAT, three_turns(OpenAIChatEndpoint, first))
        roles = [m["role"] for m in third["messages"]]
        assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
        assert third["messages"][2] == {"role": "assistant", "content": "It is a library."}
        assert third["messages"][-1] == {"role": "user", "content": "Show me."}
        assert third["max_tokens"] == 64
        assert len(first["messages"]) == 2  # the given payload is unchanged

    def test_the_check_can_fail(self) -> None:
        with pytest.raises(ValidationError):
            validated(CHAT, {"messages": [{"role": "bot", "content": "x"}]})


class TestOpenAIResponses:
    def test_a_text_input_becomes_messages(self) -> None:
        first = OpenAIResponsesEndpoint.create_payload("What is trio?", 64, instructions="Brief.")
        third = validated(RESPONSES, three_turns(OpenAIResponsesEndpoint, first))
        roles = [item["role"] for item in third["input"]]
        assert roles == ["user", "assistant", "user", "assistant", "user"]
        assert third["input"][0]["content"] == "What is trio?"
        assert third["instructions"] == "Brief." and third["max_output_tokens"] == 64

    def test_the_check_can_fail(self) -> None:
        with pytest.raises(ValidationError):
            validated(RESPONSES, {"input": [{"role": "bot", "content": "x"}]})


class TestAnthropicMessages:
    def test_roles_alternate_from_the_user(self) -> None:
        """The Messages API's rule: user and assistant turns alternate, starting with user."""
        first = AnthropicMessagesEndpoint.create_payload("What is trio?", 64, system="Brief.")
        third = three_turns(AnthropicMessagesEndpoint, first)
        roles = [m["role"] for m in third["messages"]]
        assert roles == ["user", "assistant", "user", "assistant", "user"]
        assert all(isinstance(m["content"], str) and m["content"] for m in third["messages"])
        assert third["system"] == "Brief." and third["max_tokens"] == 64


class TestFake:
    def test_the_prompt_grows_by_the_answer_and_the_message(self) -> None:
        payload = FakeEndpoint.continue_conversation({"prompt": "hi"}, "tok tok", "and?")
        assert payload == {"prompt": "hi\ntok tok\nand?"}


class TestWithoutConversations:
    def test_a_clear_error(self) -> None:
        assert not OpenAICompletionsEndpoint.holds_conversations()
        with pytest.raises(TypeError, match="openai-completions cannot hold a conversation"):
            OpenAICompletionsEndpoint.continue_conversation({"prompt": "x"}, "a", "b")

    def test_no_messages_to_continue(self) -> None:
        with pytest.raises(ValueError, match="no 'messages'"):
            OpenAIChatEndpoint.continue_conversation({"prompt": "x"}, "a", "b")

    @pytest.mark.parametrize(
        "cls",
        [OpenAIChatEndpoint, OpenAIResponsesEndpoint, AnthropicMessagesEndpoint, FakeEndpoint],
    )
    def test_these_hold_conversations(self, cls: type[Endpoint]) -> None:
        assert cls.holds_conversations()
