"""The tokenizer contract, the whitespace stand-in, and saving tokenizers with a run."""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DummyTokenizer",
    "Tokenizer",
    "count_tokens",
    "tokenizer_to_config",
]


class _TokenizerClass(typing._ProtocolMeta):
    """LLMeter's class-level helpers, ``Tokenizer.load(...)`` and the rest.

    They live on the metaclass so that they are not members of the protocol:
    anything with `encode` and `decode` is still a `Tokenizer`.
    """

    def load_from_file(cls, tokenizer_path: str | os.PathLike[str] | None) -> Tokenizer:
        """The tokenizer saved in a JSON file (LLMeter's or ours); None gives the default."""
        from ._documents import load_tokenizer_file

        return load_tokenizer_file(tokenizer_path)

    def load(cls, tokenizer_info: Mapping[str, Any]) -> Tokenizer:
        """The tokenizer a saved document (``{"tokenizer_module": ...}``) describes."""
        from ._documents import load_tokenizer

        return load_tokenizer(tokenizer_info)

    def to_dict(cls, tokenizer: Any) -> dict[str, Any]:
        """A tokenizer's saved document, in LLMeter's shape."""
        from ._documents import tokenizer_document

        return tokenizer_document(tokenizer)


@runtime_checkable
class Tokenizer(Protocol, metaclass=_TokenizerClass):
    """Turns text into tokens and back.

    LLMeter's ``Tokenizer.load_from_file(path)``, ``Tokenizer.load(document)``
    and ``Tokenizer.to_dict(tokenizer)`` work on the class.
    """

    def encode(self, text: str) -> Sequence[Any]: ...

    def decode(self, tokens: Sequence[Any]) -> str: ...


class DummyTokenizer:
    """Splits on whitespace: one word is one token. A rough stand-in, never exact.

    It under-counts English (a word is often two or more tokens for a real
    model) and means little for languages written without spaces.
    """

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
