"""Datasets as payload sources: real prompts, their expected answer lengths and arrival times.

A `Dataset` is a list of rows read from a file: ShareGPT-style conversations,
JSONL/CSV/Parquet through a `ColumnMap`, or a Hugging Face dataset on disk.
Narrow it by length (`filter`), draw N rows with the run's seed (`sample`),
then make the endpoint's payloads (`payloads`), each carrying what it asks
(input and expected output tokens, the source row) to its record. A dataset
with timestamps also gives the run's schedule: a `TraceReplay` of its
arrivals (`trace`).
"""

from __future__ import annotations

import inspect
import os
import random
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ..schedules import Arrival, TraceReplay
from ..storage import dumps, resolve
from ..tokenizers import DummyTokenizer, Tokenizer
from ._datasets_read import DatasetFormat, detect_format, read_records
from ._datasets_rows import (
    ColumnMap,
    DatasetRow,
    is_conversation,
    rows_from_columns,
    rows_from_sharegpt,
)
from ._datasets_time import TimestampUnit, seconds
from ._metadata import with_workload

__all__ = ["Dataset"]

# the keyword each endpoint's create_payload takes a system prompt under
_SYSTEM_KEYWORDS = ("system_prompt", "system", "instructions", "system_message")


def _rows(rows: Iterable[DatasetRow]) -> tuple[DatasetRow, ...]:
    return tuple(rows)


@attrs.frozen(kw_only=True)
class Dataset:
    """Rows of a dataset, ready to become payloads. Build one with `Dataset.load`.

    `name` says where the rows came from; `skipped` counts conversations
    passed over for having no user turn.
    """

    rows: tuple[DatasetRow, ...] = attrs.field(converter=_rows)
    name: str = "dataset"
    skipped: int = 0

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        format: DatasetFormat | None = None,
        *,
        columns: ColumnMap | None = None,
        tokenizer: Tokenizer | None = None,
        split: str | None = None,
    ) -> Dataset:
        """Read the dataset at `path` (a local path or any fsspec URL).

        `format` is ``"sharegpt"``, ``"jsonl"``, ``"csv"``, ``"parquet"`` or
        ``"hf"`` (a folder saved with ``save_to_disk``, or a local data file
        read by the `datasets` library, e.g. ``pip install
        'llmeter-trio[datasets]'``); by default the extension says (a folder
        is "hf"). A JSON or JSONL file of conversations is read as ShareGPT
        unless `columns` are given. `tokenizer` (the run's; `DummyTokenizer`
        by default) counts input and answer tokens. `split` picks a split of a
        saved ``DatasetDict`` (default ``train``, else the first).
        """
        url = os.fspath(path)
        kind = format if format is not None else detect_format(url)
        records = read_records(url, kind, split)
        counter = tokenizer if tokenizer is not None else DummyTokenizer()
        conversations = kind == "sharegpt" or (
            columns is None and bool(records) and is_conversation(records[0])
        )
        if conversations:
            if columns is not None:
                raise ValueError(f"{url}: a conversation file takes no column mapping")
            rows, skipped = rows_from_sharegpt(records, counter, url)
        else:
            rows = rows_from_columns(records, columns or ColumnMap(), counter, url)
            skipped = 0
        if not rows:
            raise ValueError(f"{url}: the dataset has no rows")
        return cls(rows=rows, name=url, skipped=skipped)

    def __len__(self) -> int:
        return len(self.rows)

    def filter(
        self,
        *,
        min_input_tokens: int | None = None,
        max_input_tokens: int | None = None,
        min_output_tokens: int | None = None,
        max_output_tokens: int | None = None,
    ) -> Dataset:
        """The rows whose lengths are within the bounds (inclusive).

        Input tokens are the prompt's and system prompt's (the tokenizer the
        dataset was loaded with); a row of unknown output length is left out
        by an output bound. No row left is a ValueError.
        """
        for label, bound in (
            ("min_input_tokens", min_input_tokens),
            ("max_input_tokens", max_input_tokens),
            ("min_output_tokens", min_output_tokens),
            ("max_output_tokens", max_output_tokens),
        ):
            if bound is not None and (not isinstance(bound, int) or bound < 0):
                raise ValueError(f"{label} must be a whole number >= 0, not {bound!r}")

        def within(value: int | None, low: int | None, high: int | None) -> bool:
            if low is None and high is None:
                return True
            if value is None:
                return False
            return (low is None or value >= low) and (high is None or value <= high)

        kept = [
            row
            for row in self.rows
            if within(row.input_tokens, min_input_tokens, max_input_tokens)
            and within(row.output_tokens, min_output_tokens, max_output_tokens)
        ]
        if not kept:
            raise ValueError(f"{self.name}: no row of the {len(self)} is within the length bounds")
        return attrs.evolve(self, rows=kept)

    def sample(self, n: int, seed: int, *, replace: bool = False) -> Dataset:
        """`n` rows drawn with `seed` (the same seed, the same rows in the same order);
        with `replace`, a row may come more than once and `n` may exceed the rows."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"the sample size must be a whole number >= 1, not {n!r}")
        rng = random.Random(seed)
        if replace:
            return attrs.evolve(self, rows=rng.choices(list(self.rows), k=n))
        if n > len(self):
            raise ValueError(
                f"{self.name}: cannot sample {n} rows of {len(self)} without replacement "
                "(sample fewer, or with replacement)"
            )
        return attrs.evolve(self, rows=rng.sample(list(self.rows), n))

    def conversations(self) -> list[list[str]]:
        """Every row's user messages in order, the prompt first (for multi-turn sessions)."""
        return [list(row.user_turns) for row in self.rows]

    def payloads(self, endpoint: Any, max_tokens: int = 256, **kwargs: Any) -> list[dict[str, Any]]:
        """One payload per row, in the endpoint's own format (``endpoint.create_payload``).

        ``max_tokens`` is the row's expected output length, or `max_tokens`
        for a row that has none. The system prompt goes where the endpoint's
        format has one (``system_prompt``, ``system``, ``instructions``), else
        before the prompt, a blank line between. Each payload carries
        ``input_tokens``, ``output_tokens`` (the expected length) and
        ``source`` (the row's index in the file) to its record, and a
        conversation's later user messages as ``follow_ups``, which a run with
        `Sessions` sends as the next turns. `kwargs` go
        to ``create_payload`` (``stream=True``, ``temperature``, ...).
        """
        create: Callable[..., dict[str, Any]] = endpoint.create_payload
        keyword = _system_keyword(create)
        built = []
        for row in self.rows:
            prompt, options = row.prompt, dict(kwargs)
            if row.system is not None:
                if keyword is None:
                    prompt = f"{row.system}\n\n{row.prompt}"
                else:
                    options[keyword] = row.system
            expected = row.output_tokens or None  # an empty answer says nothing of the length
            payload = create(prompt, max_tokens=expected or max_tokens, **options)
            built.append(
                with_workload(
                    payload,
                    input_tokens=row.input_tokens,
                    output_tokens=expected,
                    source=row.source,
                    # a conversation's later user messages: a multi-turn session says them
                    follow_ups=list(row.user_turns[1:]) if len(row.user_turns) > 1 else None,
                )
            )
        return built

    def arrivals(self, timestamp_unit: TimestampUnit = "s") -> list[Arrival]:
        """Each row's arrival, in seconds after the first, naming its payload by index
        (`payloads`' order); in time order. See `llmeter_trio.workloads._datasets_time`
        for how timestamps read: numbers in `timestamp_unit` (``"s"`` or ``"ms"``),
        texts as ISO 8601 datetimes."""
        times = []
        for index, row in enumerate(self.rows):
            where = f"{self.name}, record {row.source}"
            if row.timestamp is None:
                raise ValueError(f"{where}: no timestamp (map the column: timestamp=NAME)")
            times.append((seconds(row.timestamp, timestamp_unit, where), index))
        times.sort()
        start = times[0][0]
        return [Arrival(time - start, index) for time, index in times]

    def trace(
        self,
        path: str | os.PathLike[str],
        *,
        timestamp_unit: TimestampUnit = "s",
        time_scale: float = 1.0,
        max_concurrency: int | None = None,
    ) -> TraceReplay:
        """The dataset's arrivals as a schedule: written to the trace file `path` (any
        fsspec URL; a run saved with it replays while that file is there) and read
        back by a `TraceReplay`, which multiplies the times by `time_scale`
        (0.5 replays twice as fast). Send it with `payloads`, in that order."""
        url = os.fspath(path)
        lines = [
            dumps({"timestamp": arrival.time, "payload": arrival.payload})
            for arrival in self.arrivals(timestamp_unit)
        ]
        fs, where = resolve(url)
        parent = where.rsplit("/", 1)[0] if "/" in where else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(where, "wb") as file:
            file.write(b"\n".join(lines) + b"\n")
        return TraceReplay(path=url, time_scale=time_scale, max_concurrency=max_concurrency)


def _system_keyword(create: Callable[..., Any]) -> str | None:
    """The keyword `create` takes a system prompt under, or None."""
    try:
        parameters = inspect.signature(create).parameters
    except (TypeError, ValueError):
        return None
    return next((name for name in _SYSTEM_KEYWORDS if name in parameters), None)
