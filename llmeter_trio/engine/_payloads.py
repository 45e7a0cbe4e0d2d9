"""Where each client's payloads come from: normalized input, a seeded order per client."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..prompts import load_payloads

__all__ = ["client_payloads", "normalize_payloads"]

PayloadInput = Mapping[str, Any] | Sequence[Mapping[str, Any]] | str | os.PathLike[str]


def normalize_payloads(payload: PayloadInput | None) -> list[dict[str, Any]]:
    """A non-empty list of payload dicts from a dict, a list of dicts, or JSON/JSONL file(s).

    A path (any fsspec URL) is read with `llmeter_trio.prompts.load_payloads`:
    a ``.json`` or ``.jsonl`` file, or a folder of them.
    """
    if payload is None:
        raise ValueError("no payload: pass payload= a dict, a list of dicts, or a JSON/JSONL file")
    if isinstance(payload, str | os.PathLike):
        payloads: list[Any] = list(load_payloads(payload))
        if not payloads:
            raise ValueError(f"{os.fspath(payload)} holds no payloads")
    elif isinstance(payload, Mapping):
        payloads = [payload]
    else:
        payloads = list(payload)
    if not payloads:
        raise ValueError("the payload list is empty")
    for index, item in enumerate(payloads):
        if not isinstance(item, Mapping):
            raise TypeError(f"payload #{index} is a {type(item).__name__}, not a dict")
    return [dict(p) for p in payloads]


def client_payloads(
    payloads: Sequence[dict[str, Any]], seed: int, client: int
) -> Iterator[dict[str, Any]]:
    """Client `client`'s endless payload stream: a fresh seeded shuffle per pass.

    Each client has its own order (LLMeter gives every client the same one),
    and the same seed always gives the same orders.
    """
    rng = random.Random(seed * 1_000_003 + client)
    order = list(range(len(payloads)))
    while True:
        rng.shuffle(order)
        for index in order:
            yield payloads[index]
