"""The prompt's text in a Bedrock or SageMaker body, for counting its tokens locally.

The record keeps it as ``input_prompt`` when the server reports no input token
count, so a tokenizer can count them after the run. Every body shape this
plugin sends is read: Converse and Nova (``messages[].content[].text``,
``system[].text``), Anthropic and Chat Completions (``content`` as text or
``{"type": "text", "text": ...}`` blocks, ``system``), and the text-completion
bodies (``prompt``, ``inputText``, ``inputs``, Cohere's ``message`` and
``preamble``). A `JsonPath` (LLMeter's ``input_text_jmespath``) replaces this
reading when the body is another shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._paths import JsonPath

__all__ = ["prompt_text"]

_TEXT_KEYS = ("system", "preamble", "prompt", "inputText", "inputs", "message")


def _texts(value: Any) -> list[str]:
    """The text of a content value: a string, or the texts (or blocks' ``text``) in a list."""
    if isinstance(value, str):
        return [value]
    texts = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):  # a path's projection: a list of texts
            texts.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            texts.append(item["text"])
    return texts


def prompt_text(payload: Mapping[str, Any], path: JsonPath | None = None) -> str | None:
    """The text of the prompt in `payload` (None when it holds none), found by `path` if given."""
    texts: list[str] = []
    if path is not None:
        return "\n".join(_texts(path.search(payload))) or None
    for key in _TEXT_KEYS:
        texts += _texts(payload.get(key))
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                texts += _texts(message.get("content"))
    return "\n".join(texts) or None
