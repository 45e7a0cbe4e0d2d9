"""Watching a split run's worker folders from the test: records so far, polling, counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from llmeter_trio.storage import iter_responses, resolve

__all__ = ["polls", "recorded", "shard_records"]


def shard_records(folder: Path) -> int:
    """The records the run's worker folders hold, read as records."""
    fs, _ = resolve(str(folder))
    return sum(
        sum(1 for _ in iter_responses(fs, str(shard)))
        for shard in sorted((folder / "workers").iterdir())
    )


def recorded(folder: Path) -> int:
    """Lines written so far to the worker folders' ``responses.jsonl`` (while the run goes on)."""
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("workers/*/responses.jsonl"))


def polls(seconds: float) -> Iterator[None]:
    """Yield every 50 ms for at most `seconds` of real time; then fail the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        yield
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")
