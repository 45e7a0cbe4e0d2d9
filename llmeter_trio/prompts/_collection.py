"""`CreatePromptCollection`: prompts of chosen token lengths, cut from a source text.

Each prompt starts at its own seeded random offset in the text (wrapping
around its end when needed). LLMeter cuts every prompt from the start of the
file, so each is a prefix of the next: a server's prefix cache then answers
the long prompts from the short ones, and the measured latency is flattered.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from importlib.resources import files
from itertools import product
from typing import Any

import attrs

from .._checks import check_number
from ..storage import resolve
from ..tokenizers import DummyTokenizer, Tokenizer
from ._exact import cut_to_length

__all__ = ["CreatePromptCollection", "PromptSample", "SAMPLE_TEXT_FILE", "read_source_tokens"]

SAMPLE_TEXT_FILE = str(files("llmeter_trio") / "data" / "sample_text.txt")
"""A few thousand words of plain English prose that ships with llmeter-trio."""

logger = logging.getLogger(__name__)

_WHITESPACE = DummyTokenizer()  # the default; stateless, so one serves every collection


@attrs.frozen
class PromptSample:
    """One prompt and the lengths it was cut for.

    `num_tokens` is its length under the collection's tokenizer: `input_length`
    whenever some cut of the source text measures that (`cut_to_length`), else
    the closest one found.
    """

    prompt: str
    input_length: int
    output_length: int
    offset: int  # the token of the source text it starts at
    num_tokens: int


def _check_lengths(name: str, values: Sequence[int]) -> None:
    if isinstance(values, str | bytes) or not values:
        raise ValueError(f"{name} must be a non-empty list of token counts, not {values!r}")
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must hold whole numbers of 1 or more; found {value!r}")


@attrs.define
class CreatePromptCollection:
    """Every (input length, output length) combination, `requests_per_combination` times.

    `create_collection()` returns ``(prompt, output_length)`` pairs in a
    seeded random order, as LLMeter's does; `create_samples()` gives the same
    prompts with their target and actual lengths. The same `seed` always
    gives the same collection (a random one is chosen, and kept in `seed`,
    when none is given). `tokenizer` measures the lengths (default:
    `DummyTokenizer`, one word a token); `source_file` is any local path or
    fsspec URL, e.g. `SAMPLE_TEXT_FILE`.
    """

    input_lengths: Sequence[int]
    output_lengths: Sequence[int]
    source_file: str | os.PathLike[str]
    requests_per_combination: int = 1
    tokenizer: Tokenizer | None = None
    source_file_encoding: str = "utf-8-sig"
    seed: int | None = None
    _cache: tuple[tuple[Any, ...], list[Any]] | None = attrs.field(
        default=None, init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        _check_lengths("input_lengths", self.input_lengths)
        _check_lengths("output_lengths", self.output_lengths)
        check_number("requests_per_combination", self.requests_per_combination, whole=True)
        if self.seed is None:
            self.seed = random.randrange(2**32)

    @property
    def _tokenizer_obj(self) -> Tokenizer:
        return self.tokenizer if self.tokenizer is not None else _WHITESPACE

    def create_collection(self) -> list[tuple[str, int]]:
        """``(prompt, output_length)`` for every combination and repetition, shuffled."""
        return [(s.prompt, s.output_length) for s in self.create_samples()]

    def create_samples(self) -> list[PromptSample]:
        """Every prompt with its target lengths, offset and token count, shuffled."""
        rng = random.Random(self.seed)
        tokens = self._source_tokens()
        samples = [
            self._sample(tokens, input_length, output_length, rng)
            for input_length, output_length in product(self.input_lengths, self.output_lengths)
            for _ in range(self.requests_per_combination)
        ]
        rng.shuffle(samples)
        return samples

    def _source_tokens(self) -> list[Any]:
        key = (os.fspath(self.source_file), self.source_file_encoding, id(self._tokenizer_obj))
        if self._cache is None or self._cache[0] != key:
            tokens = read_source_tokens(self.source_file, self._tokenizer_obj, key[1])
            self._cache = (key, tokens)
        return self._cache[1]

    def _sample(
        self, tokens: list[Any], input_length: int, output_length: int, rng: random.Random
    ) -> PromptSample:
        """Cut `input_length` tokens from a random offset, measured as the tokenizer counts them
        (`cut_to_length`: the closest cut is kept when none measures exactly)."""
        if not tokens:
            return PromptSample("", input_length, output_length, 0, 0)
        offset = rng.randrange(len(tokens))
        cut = cut_to_length(self._tokenizer_obj, tokens, input_length, offset)
        return PromptSample(cut.text, input_length, output_length, cut.offset, cut.num_tokens)


def read_source_tokens(
    source_file: str | os.PathLike[str], tokenizer: Tokenizer, encoding: str = "utf-8-sig"
) -> list[Any]:
    """The tokens of a source text (any local path or fsspec URL) that prompts are cut from."""
    url = os.fspath(source_file)
    fs, path = resolve(url)
    if not fs.isfile(path):
        raise FileNotFoundError(f"no source text at {url}")
    with fs.open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{url} is not {encoding} text ({exc}); set source_file_encoding to the file's encoding"
        ) from None
    tokens = list(tokenizer.encode(text))
    if not tokens:  # LLMeter gives empty prompts too; say so
        logger.warning("%s holds no text to cut prompts from: every prompt is empty", url)
    return tokens
