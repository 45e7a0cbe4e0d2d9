"""The built-in tokenizers, registered through the same hook plugins use."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ._base import DummyTokenizer, Tokenizer
from ._huggingface import HuggingFaceTokenizer
from ._tiktoken import TiktokenTokenizer

__all__ = ["register_tokenizers"]


@hookimpl
def register_tokenizers(register: Callable[[str, Callable[..., Tokenizer]], None]) -> None:
    """Register the tokenizers that ship with llmeter-trio (the optional ones load lazily)."""
    register(DummyTokenizer.tokenizer_type, DummyTokenizer)
    register(HuggingFaceTokenizer.tokenizer_type, HuggingFaceTokenizer.from_file)
    register(TiktokenTokenizer.tokenizer_type, TiktokenTokenizer.from_file)
