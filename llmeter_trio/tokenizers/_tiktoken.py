"""`TiktokenTokenizer`: a BPE encoding in tiktoken's ``.tiktoken`` file format, read locally."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._files import read_bytes, require

__all__ = ["TiktokenTokenizer", "read_tiktoken_ranks"]


def read_tiktoken_ranks(data: bytes, where: str) -> dict[bytes, int]:
    """The token ranks of a ``.tiktoken`` file: one ``BASE64_TOKEN RANK`` pair a line."""
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError(f"expected 2 fields, found {len(parts)}")
            ranks[base64.b64decode(parts[0], validate=True)] = int(parts[1])
        except (ValueError, binascii.Error) as exc:
            raise ValueError(
                f"{where}, line {number}: not a '<base64 token> <rank>' line ({exc}); "
                "is this a .tiktoken encoding file?"
            ) from None
    if not ranks:
        raise ValueError(f"{where} holds no tokens; is this a .tiktoken encoding file?")
    return ranks


class TiktokenTokenizer:
    """Counts tokens as OpenAI-style models do, from a local ``.tiktoken`` file.

    tiktoken normally downloads its encodings on first use; here the file is
    given (a local path or any fsspec URL) with the encoding's split pattern,
    so nothing is fetched at run time::

        tokenizer = TiktokenTokenizer.from_file(
            "encodings/cl100k_base.tiktoken", pat_str=CL100K_PATTERN,
            special_tokens={"<|endoftext|>": 100257},
        )

    `pat_str` is the regular expression the encoding splits text with before
    merging (published with each encoding). Special-token text in a prompt is
    counted as ordinary text, as servers do with user content. Needs the
    ``tiktoken`` extra (``pip install 'llmeter-trio[tiktoken]'``).
    """

    tokenizer_type = "tiktoken"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        pat_str: str,
        special_tokens: Mapping[str, int] | None = None,
        name: str | None = None,
    ) -> None:
        library = require("tiktoken", "tiktoken", "TiktokenTokenizer")
        self.path = os.fspath(path)
        self.pat_str = pat_str
        self.special_tokens = dict(special_tokens or {})
        self.name = name or os.path.splitext(os.path.basename(self.path))[0]
        ranks = read_tiktoken_ranks(read_bytes(self.path), self.path)
        try:
            self._encoding: Any = library.Encoding(
                self.name,
                pat_str=pat_str,
                mergeable_ranks=ranks,
                special_tokens=self.special_tokens,
            )
        except Exception as exc:  # e.g. a pattern the regex engine rejects
            raise ValueError(f"tiktoken cannot build an encoding from {self.path}: {exc}") from exc

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        pat_str: str,
        special_tokens: Mapping[str, int] | None = None,
        name: str | None = None,
    ) -> TiktokenTokenizer:
        """Load a ``.tiktoken`` encoding file from a local path or any fsspec URL."""
        return cls(path, pat_str=pat_str, special_tokens=special_tokens, name=name)

    def encode(self, text: str) -> list[int]:
        tokens: list[int] = self._encoding.encode(text, disallowed_special=())
        return tokens

    def decode(self, tokens: Sequence[Any]) -> str:
        text: str = self._encoding.decode([int(t) for t in tokens])
        return text

    def to_config(self) -> dict[str, Any]:
        return {
            "tokenizer_type": self.tokenizer_type,
            "path": self.path,
            "pat_str": self.pat_str,
            "special_tokens": self.special_tokens,
            "name": self.name,
        }

    def __repr__(self) -> str:
        return f"TiktokenTokenizer.from_file({self.path!r}, name={self.name!r})"
