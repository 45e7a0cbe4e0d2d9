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
from collections.abc import Iterator, Sequence
from importlib.resources import files
from itertools import islice, product
from typing import Any

import attrs

from .._checks import check_number
from ..storage import resolve
from ..tokenizers import DummyTokenizer, Tokenizer

__all__ = ["CreatePromptCollection", "PromptSample", "SAMPLE_TEXT_FILE"]

SAMPLE_TEXT_FILE = str(files("llmeter_trio") / "data" / "sample_text.txt")
"""A few thousand words of plain English prose that ships with llmeter-trio."""

logger = logging.getLogger(__name__)

MAX_ADJUSTMENTS = 8  # re-cuts per prompt when the tokenizer does not round-trip exactly
_WHITESPACE = DummyTokenizer()  # the default; stateless, so one serves every collection


@attrs.frozen
class PromptSample:
    """One prompt and the lengths it was cut for.

    `num_tokens` is its length under the collection's tokenizer: equal to
    `input_length` when the tokenizer round-trips text (the whitespace one
    always does), else the closest a few re-cuts found.
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
            url = key[0]
            fs, path = resolve(url)
            if not fs.isfile(path):
                raise FileNotFoundError(f"no source text at {url}")
            with fs.open(path, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode(self.source_file_encoding)
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{url} is not {self.source_file_encoding} text ({exc}); "
                    "set source_file_encoding to the file's encoding"
                ) from None
            tokens = list(self._tokenizer_obj.encode(text))
            if not tokens:  # LLMeter gives empty prompts too; say so
                logger.warning("%s holds no text to cut prompts from: every prompt is empty", url)
            self._cache = (key, tokens)
        return self._cache[1]

    def _sample(
        self, tokens: list[Any], input_length: int, output_length: int, rng: random.Random
    ) -> PromptSample:
        """Cut `input_length` tokens from a random offset, re-cutting until the text measures right.

        Decoding a cut and encoding it again can give a different count (a
        word split at the cut, tokens merging where the text wraps around), so
        the cut is lengthened or shortened by the difference until it matches
        or `MAX_ADJUSTMENTS` is reached; the closest cut is kept.
        """
        tokenizer = self._tokenizer_obj
        if not tokens:
            return PromptSample("", input_length, output_length, 0, 0)
        offset = rng.randrange(len(tokens))
        cut = input_length
        best: tuple[str, int] | None = None
        for _ in range(MAX_ADJUSTMENTS):
            window = list(islice(_cycle_from(tokens, offset), cut))
            prompt = tokenizer.decode(window)
            measured = len(tokenizer.encode(prompt))
            if best is None or abs(measured - input_length) < abs(best[1] - input_length):
                best = (prompt, measured)
            if measured == input_length:
                break
            cut = max(1, cut + input_length - measured)
        assert best is not None
        return PromptSample(best[0], input_length, output_length, offset, best[1])


def _cycle_from(tokens: list[Any], offset: int) -> Iterator[Any]:
    """The tokens from `offset` on, starting again at the beginning when they run out."""
    while True:
        yield from tokens[offset:]
        yield from tokens[:offset]
