"""Text of an exact token length, cut from a source text's tokens: the one place this is done.

Decoding a run of tokens and encoding the text again can give a different
count (a word split at the cut, tokens merging where the text wraps around or
where the cut meets the text before it), so a cut is measured as it will be
sent and adjusted: first re-cut by the difference, then lengthened or
shortened a token at a time, then started a token later, until it measures
right. When no cut does, the closest is kept and its measured length says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

import attrs

from ..tokenizers import Tokenizer

__all__ = ["Cut", "MAX_ADJUSTMENTS", "MAX_SHIFTS", "cut_to_length"]

MAX_ADJUSTMENTS = 8  # re-cuts by the difference, per start
MAX_STEPS = 8  # then one token more or less at a time, per start
MAX_SHIFTS = 32  # starts tried, a token apart, before the closest cut is kept


@attrs.frozen
class Cut:
    """A cut of the source text: its text, where it starts, and its measured length."""

    text: str
    offset: int  # the token of the source text it starts at
    num_tokens: int  # measured as it is sent (`measure`); the asked length when exact


def _cycle_from(tokens: Sequence[Any], offset: int) -> Iterator[Any]:
    """The tokens from `offset` on, starting again at the beginning when they run out."""
    while True:
        yield from tokens[offset:]
        yield from tokens[:offset]


def cut_to_length(
    tokenizer: Tokenizer,
    tokens: Sequence[Any],
    length: int,
    offset: int,
    measure: Callable[[str], int] | None = None,
) -> Cut:
    """Text from `tokens` (a source text, encoded) at `offset` that measures `length` tokens.

    `measure(text)` is the length of what is sent with the cut (default: the
    cut alone under `tokenizer`; a shared prefix measures the prefix and the
    cut together). A cut is at least one token; no tokens give empty text.
    """
    if measure is None:

        def measure(text: str) -> int:
            return len(tokenizer.encode(text))

    if not tokens:
        return Cut("", 0, measure(""))
    best: Cut | None = None
    seen: dict[tuple[int, int], int] = {}

    def attempt(start: int, cut: int) -> int:
        nonlocal best
        key = (start, cut)
        if key not in seen:
            text = tokenizer.decode(list(islice(_cycle_from(tokens, start), cut)))
            measured = measure(text)
            seen[key] = measured
            if best is None or abs(measured - length) < abs(best.num_tokens - length):
                best = Cut(text, start, measured)
        return seen[key]

    first_guess = max(1, length - measure(""))
    for shift in range(MAX_SHIFTS):
        start = (offset + shift) % len(tokens)
        cut = first_guess
        for _ in range(MAX_ADJUSTMENTS):  # re-cut by the difference
            measured = attempt(start, cut)
            if measured == length:
                return _found(best)
            following = max(1, cut + length - measured)
            if following == cut or (start, following) in seen:
                break
            cut = following
        step = 1 if measured < length else -1  # then a token at a time, until it passes
        for _ in range(MAX_STEPS):
            cut += step
            if cut < 1:
                break
            measured = attempt(start, cut)
            if measured == length:
                return _found(best)
            if (measured > length) == (step > 0):  # jumped past: this start cannot
                break
    return _found(best)


def _found(best: Cut | None) -> Cut:
    assert best is not None
    return best
