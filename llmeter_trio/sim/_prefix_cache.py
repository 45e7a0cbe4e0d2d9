"""The simulated server's prefix cache: which leading blocks of prompts it has seen.

As vLLM's automatic prefix caching does with token ids, a prompt's words (in
order: for a chat, every message's text, the system prompt first) are cut into
blocks of `block` words, and block *i* is known by a hash of blocks 0..*i*: a
block is found only when everything before it matches too. A prompt's cached
tokens are its longest run of leading whole blocks already in the cache; then
all its whole blocks become the most recently used, and beyond `capacity`
blocks the least recently used are forgotten. A partial last block is never
cached. Nothing is random: the same prompts in the same order give the same
counts.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["PrefixCache"]


class PrefixCache:
    """Blocks of prompts seen, least recently used first; `queried_tokens` and
    `hit_tokens` count every prompt's tokens looked up and found (vLLM's
    ``prefix_cache_queries`` and ``prefix_cache_hits``)."""

    __slots__ = ("_blocks", "block", "capacity", "hit_tokens", "queried_tokens")

    def __init__(self, block: int, capacity: int) -> None:
        if block < 1 or capacity < 1:
            raise ValueError("a prefix cache needs blocks of at least 1 token, and room for 1")
        self.block = block
        self.capacity = capacity
        self._blocks: OrderedDict[bytes, None] = OrderedDict()
        self.queried_tokens = 0
        self.hit_tokens = 0

    def __len__(self) -> int:
        """Blocks held."""
        return len(self._blocks)

    def _keys(self, words: list[str]) -> list[bytes]:
        """The chained hash of each whole block of `words`."""
        keys: list[bytes] = []
        parent = b""
        for start in range(0, len(words) - self.block + 1, self.block):
            text = " ".join(words[start : start + self.block])
            digest = hashlib.blake2b(parent, digest_size=16)
            digest.update(text.encode("utf-8", "surrogatepass"))
            parent = digest.digest()
            keys.append(parent)
        return keys

    def admit(self, texts: Iterable[str]) -> int:
        """The cached tokens of a prompt made of `texts` (its words, in order); then
        remember its whole blocks as the most recently used."""
        words = [word for text in texts for word in text.split()]
        keys = self._keys(words)
        blocks = self._blocks
        hits = 0
        for key in keys:
            if key not in blocks:
                break
            hits += 1
        for key in keys:
            blocks[key] = None
            blocks.move_to_end(key)
        while len(blocks) > self.capacity:
            blocks.popitem(last=False)
        cached = hits * self.block
        self.queried_tokens += len(words)
        self.hit_tokens += cached
        return cached
