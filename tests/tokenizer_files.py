"""Tiny tokenizer files made inside the tests from the shipped sample text (nothing downloaded)."""

from __future__ import annotations

import base64
import re
from collections import Counter
from pathlib import Path

from llmeter_trio.prompts import SAMPLE_TEXT_FILE

# a split pattern in tiktoken's style: words with their leading space, numbers, punctuation, spaces
TIKTOKEN_PATTERN = r"""'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SPECIAL_TOKENS = {"<|endoftext|>": 100_000}


def sample_text() -> str:
    return Path(SAMPLE_TEXT_FILE).read_text(encoding="utf-8")


def train_bpe(path: Path, vocab_size: int = 400) -> Path:
    """A byte-level BPE tokenizer.json trained on the sample text (words split mid-way)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["[UNK]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([sample_text()], trainer)
    tokenizer.save(str(path))
    return path


def train_word_level(path: Path) -> Path:
    """A word-level tokenizer.json: each word and punctuation mark of the sample text a token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["[UNK]"], show_progress=False)
    tokenizer.train_from_iterator([sample_text()], trainer)
    tokenizer.save(str(path))
    return path


def tiktoken_ranks(words: int = 60) -> dict[bytes, int]:
    """Every byte, then every prefix of the most frequent words (so BPE can merge up to them)."""
    ranks = {bytes([b]): b for b in range(256)}
    frequent = Counter(re.findall(r" ?[A-Za-z]+", sample_text())).most_common(words)
    for word, _ in frequent:
        encoded = word.encode()
        for end in range(2, len(encoded) + 1):
            ranks.setdefault(encoded[:end], len(ranks))
    return ranks


def write_tiktoken(path: Path, ranks: dict[bytes, int] | None = None) -> Path:
    """A ``.tiktoken`` file: one ``base64(token) rank`` line per token."""
    lines = (
        base64.b64encode(token) + b" " + str(rank).encode()
        for token, rank in (ranks or tiktoken_ranks()).items()
    )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
