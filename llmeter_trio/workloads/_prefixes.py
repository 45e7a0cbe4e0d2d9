"""Shared prefixes: N prefix texts, each sent ahead of M suffixes, to test prefix caching."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal, get_args

import attrs

from .._checks import check_number
from ..prompts._exact import Cut, cut_to_length
from ..tokenizers import Tokenizer
from ._distributions import Distribution, distribution_from_config

__all__ = ["Placement", "SharedPrefixes"]

Placement = Literal["document", "system"]
PLACEMENTS: tuple[Placement, ...] = get_args(Placement)
SEPARATOR = "\n\n"  # between a document prefix and its suffix
_TRIES = 200  # offsets tried per prefix for a first token no other prefix starts with


@attrs.frozen
class SharedPrefixes:
    """`count` prefixes of `length` tokens, each sent ahead of `suffixes` different suffixes.

    `placement` is where a prefix goes: ``"document"`` (the default, any
    endpoint) starts the user message with it, as a shared document would;
    ``"system"`` sends it as the system prompt (endpoints whose
    `create_payload` takes one). Prefixes differ from their first token on,
    so one cannot hit another's cache.
    """

    count: int
    length: Distribution = attrs.field(converter=distribution_from_config)
    suffixes: int = 1
    placement: Placement = "document"

    def __attrs_post_init__(self) -> None:
        check_number("the number of prefixes", self.count, whole=True)
        check_number("the suffixes per prefix", self.suffixes, whole=True)
        if self.placement not in PLACEMENTS:
            raise ValueError(
                f"prefix placement must be one of {', '.join(PLACEMENTS)}, not {self.placement!r}"
            )

    @property
    def requests(self) -> int:
        """Every prefix with each of its suffixes: ``count * suffixes``."""
        return self.count * self.suffixes

    def order(self, rng: random.Random) -> list[int]:
        """The prefix of each request: every prefix once per round, each round shuffled, so
        a prefix comes back within `count` requests (while a server's cache still holds it)."""
        order: list[int] = []
        for _ in range(self.suffixes):
            round_ = list(range(self.count))
            rng.shuffle(round_)
            order += round_
        return order

    def texts(self, tokenizer: Tokenizer, tokens: Sequence[Any], rng: random.Random) -> list[Cut]:
        """The prefix texts, lengths drawn from `length`, no two starting with the same token."""
        cuts: list[Cut] = []
        firsts: set[Any] = set()
        lengths = [self.length.sample_int(rng) for _ in range(self.count)]
        for number, length in enumerate(lengths):
            for _ in range(_TRIES):
                cut = cut_to_length(tokenizer, tokens, length, rng.randrange(len(tokens)))
                encoded = list(tokenizer.encode(cut.text))
                first = encoded[0] if encoded else None
                if first not in firsts:
                    break
            else:
                raise ValueError(
                    f"prefix {number}: no start in the source text begins with a token that the "
                    f"other {number} prefixes do not: use fewer prefixes or a longer source text"
                )
            firsts.add(first)
            cuts.append(cut)
        return cuts
