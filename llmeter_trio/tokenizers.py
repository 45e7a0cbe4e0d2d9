"""Counting tokens locally, for endpoints that do not report usage.

A tokenizer is anything with `encode(text) -> list` and `decode(tokens) -> str`.
Tokenizers are saved with a run as ``{"tokenizer_type": NAME, **options}`` and
rebuilt through the `register_tokenizers` plugin hook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from .hookspecs import hookimpl

__all__ = [
    "DummyTokenizer",
    "Tokenizer",
    "count_tokens",
    "tokenizer_from_config",
    "tokenizer_to_config",
]


@runtime_checkable
class Tokenizer(Protocol):
    """Turns text into tokens and back."""

    def encode(self, text: str) -> Sequence[Any]: ...

    def decode(self, tokens: Sequence[Any]) -> str: ...


class DummyTokenizer:
    """Splits on whitespace: one word is one token. A rough stand-in, never exact."""

    tokenizer_type = "dummy"

    def encode(self, text: str) -> list[str]:
        return text.split()

    def decode(self, tokens: Sequence[Any]) -> str:
        return " ".join(str(t) for t in tokens)

    def to_config(self) -> dict[str, Any]:
        return {"tokenizer_type": self.tokenizer_type}


def count_tokens(tokenizer: Tokenizer, text: str | None) -> int | None:
    """The number of tokens in `text`, or None when there is no text to count."""
    if text is None:
        return None
    return len(tokenizer.encode(text))


def tokenizer_to_config(tokenizer: Tokenizer | None) -> dict[str, Any] | None:
    """The saved form of a tokenizer; None when it cannot describe itself."""
    if tokenizer is None:
        return None
    to_config = getattr(tokenizer, "to_config", None)
    if callable(to_config):
        return dict(to_config())
    return {"tokenizer_type": None, "repr": repr(tokenizer)}


def tokenizer_from_config(config: dict[str, Any] | None) -> Tokenizer | None:
    """Rebuild a saved tokenizer; None when none was saved or it cannot be rebuilt."""
    if not config or not config.get("tokenizer_type"):
        return None
    from .plugins import tokenizer_factories

    options = {k: v for k, v in config.items() if k != "tokenizer_type"}
    factory = tokenizer_factories().get(config["tokenizer_type"])
    if factory is None:
        raise KeyError(f"no tokenizer type {config['tokenizer_type']!r} is registered")
    tokenizer: Tokenizer = factory(**options)
    return tokenizer


@hookimpl
def register_tokenizers(register: Callable[[str, Callable[..., Tokenizer]], None]) -> None:
    """Register the tokenizers that ship with llmeter-trio."""
    register(DummyTokenizer.tokenizer_type, DummyTokenizer)
