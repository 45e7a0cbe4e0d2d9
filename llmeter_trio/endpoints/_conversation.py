"""The next turn of a conversation, in each API's message format.

Each function returns a new payload: the one just sent, with the model's
`answer` and then the next `user_message` appended to its messages (the
payload given is not changed). `Endpoint.continue_conversation` implementations
call the one that matches their format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["append_chat_turn", "append_input_turn", "check_text"]


def check_text(name: str, value: object) -> str:
    """`value` if it is text, else a TypeError naming it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, not {type(value).__name__}")
    return value


def _messages(payload: Mapping[str, Any], key: str, endpoint: str) -> list[Any]:
    messages = payload.get(key)
    if not isinstance(messages, list) or not messages:
        raise ValueError(
            f"{endpoint}: cannot continue a conversation whose payload has no {key!r} list"
        )
    return list(messages)


def append_chat_turn(
    payload: Mapping[str, Any],
    answer: str,
    user_message: str,
    *,
    endpoint: str,
    key: str = "messages",
) -> dict[str, Any]:
    """``messages`` + an ``assistant`` message (`answer`) + a ``user`` one, as OpenAI's Chat
    Completions and Anthropic's Messages API take them (plain text content)."""
    messages = _messages(payload, key, endpoint)
    messages.append({"role": "assistant", "content": check_text("answer", answer)})
    messages.append({"role": "user", "content": check_text("user_message", user_message)})
    return {**payload, key: messages}


def append_input_turn(
    payload: Mapping[str, Any], answer: str, user_message: str, *, endpoint: str
) -> dict[str, Any]:
    """The Responses API's ``input``: a text input becomes a list of messages first."""
    items = payload.get("input")
    if isinstance(items, str):
        payload = {**payload, "input": [{"role": "user", "content": items}]}
    return append_chat_turn(payload, answer, user_message, endpoint=endpoint, key="input")
