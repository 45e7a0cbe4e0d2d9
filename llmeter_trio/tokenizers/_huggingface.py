"""`HuggingFaceTokenizer`: a model's own ``tokenizer.json``, read with Hugging Face `tokenizers`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ._files import read_bytes, require

__all__ = ["HuggingFaceTokenizer"]


class HuggingFaceTokenizer:
    """Counts tokens as a model does, from its ``tokenizer.json`` (local path or fsspec URL).

    Most open-weight models publish this file beside their weights; download
    it once and point here, nothing is fetched at run time::

        tokenizer = HuggingFaceTokenizer.from_file("models/llama/tokenizer.json")

    Needs the ``hf`` extra (``pip install 'llmeter-trio[hf]'``). Special
    tokens (BOS, EOS) are not added when counting, so a count is the text's
    own tokens; set `add_special_tokens` to count them too.
    """

    tokenizer_type = "huggingface"

    def __init__(self, path: str | os.PathLike[str], *, add_special_tokens: bool = False) -> None:
        library = require("tokenizers", "hf", "HuggingFaceTokenizer")
        self.path = os.fspath(path)
        self.add_special_tokens = add_special_tokens
        data = read_bytes(self.path)
        try:
            self._tokenizer: Any = library.Tokenizer.from_str(data.decode("utf-8"))
        except Exception as exc:  # the library raises a bare Exception for a bad file
            raise ValueError(
                f"{self.path} is not a tokenizer.json the `tokenizers` library can read ({exc}); "
                "give the tokenizer.json file published with the model"
            ) from exc

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, add_special_tokens: bool = False
    ) -> HuggingFaceTokenizer:
        """Load ``tokenizer.json`` from a local path or any fsspec URL."""
        return cls(path, add_special_tokens=add_special_tokens)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self._tokenizer.encode(
            text, add_special_tokens=self.add_special_tokens
        ).ids
        return ids

    def decode(self, tokens: Sequence[Any]) -> str:
        text: str = self._tokenizer.decode(
            [int(t) for t in tokens], skip_special_tokens=not self.add_special_tokens
        )
        return text

    def to_config(self) -> dict[str, Any]:
        return {
            "tokenizer_type": self.tokenizer_type,
            "path": self.path,
            "add_special_tokens": self.add_special_tokens,
        }

    def __repr__(self) -> str:
        return f"HuggingFaceTokenizer.from_file({self.path!r})"
