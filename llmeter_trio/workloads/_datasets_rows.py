"""A dataset's records as rows: what to ask (prompt, system prompt), how long an answer to
expect, and when it arrived.

Two shapes of record are understood: ShareGPT-style conversations
(``{"conversations": [{"from": "human", "value": ...}, ...]}`` or the
``{"messages": [{"role": "user", "content": ...}, ...]}`` variant), and flat
records whose columns a `ColumnMap` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..tokenizers import Tokenizer, count_tokens

__all__ = ["ColumnMap", "DatasetRow", "is_conversation", "rows_from_columns", "rows_from_sharegpt"]

_USER = frozenset({"human", "user"})
_ASSISTANT = frozenset({"gpt", "assistant", "chatgpt", "bard", "bing", "model"})
_SYSTEM = frozenset({"system"})
CONVERSATION_KEYS = ("conversations", "messages")


@attrs.frozen(kw_only=True)
class DatasetRow:
    """One request a dataset asks for.

    `input_tokens` counts the prompt and the system prompt with the dataset's
    tokenizer; `output_tokens` is the expected answer length (None: unknown);
    `timestamp` is the arrival as the file holds it (None: none); `source` is
    the record's index in the file (0-based); `user_turns` are every user
    message of the conversation, the prompt first.
    """

    prompt: str
    system: str | None = None
    input_tokens: int
    output_tokens: int | None = None
    timestamp: float | str | None = None
    source: int
    user_turns: tuple[str, ...] = ()


def _column_name(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A `ColumnMap` field holds a column name, or None."""
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError(f"ColumnMap.{attribute.name} must be a column name, not {value!r}")


@attrs.frozen(kw_only=True)
class ColumnMap:
    """Which column of a flat dataset (JSONL, CSV, Parquet, a table) holds what.

    `prompt` is the user message (default ``"prompt"``); `system` the system
    prompt; `output_length` the expected answer length in tokens, or `answer`
    a reference answer whose token count (the dataset's tokenizer) is that
    length; `timestamp` the arrival time (see `Dataset.trace`). Columns left
    None are not read.
    """

    prompt: str = attrs.field(
        default="prompt", validator=[attrs.validators.instance_of(str), _column_name]
    )
    system: str | None = attrs.field(default=None, validator=_column_name)
    output_length: str | None = attrs.field(default=None, validator=_column_name)
    answer: str | None = attrs.field(default=None, validator=_column_name)
    timestamp: str | None = attrs.field(default=None, validator=_column_name)

    def __attrs_post_init__(self) -> None:
        if self.output_length is not None and self.answer is not None:
            raise ValueError("ColumnMap takes output_length or answer, not both")

    @classmethod
    def parse(cls, items: Mapping[str, Any]) -> ColumnMap:
        """From ``{"prompt": "question", ...}`` (the command line's ``--column`` pairs)."""
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(items) - known)
        if unknown:
            raise ValueError(
                f"unknown dataset column role {', '.join(map(repr, unknown))}; "
                f"the roles are {', '.join(sorted(known))}"
            )
        return cls(**items)

    def used(self) -> dict[str, str]:
        """The roles mapped to a column, ``{role: column}``."""
        return {role: column for role, column in attrs.asdict(self).items() if column is not None}


def is_conversation(record: Mapping[str, Any]) -> bool:
    """Whether a record is a ShareGPT-style conversation."""
    return any(isinstance(record.get(key), list) for key in CONVERSATION_KEYS)


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        texts = [p for p in parts if isinstance(p, str)]
        if texts:
            return "\n".join(texts)
    raise ValueError(f"{where}: a message's text must be a string, not {content!r:.60}")


def _turns(record: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """A conversation's (role, text) turns, roles as user/assistant/system."""
    key = next(k for k in CONVERSATION_KEYS if isinstance(record.get(k), list))
    turns = []
    for number, turn in enumerate(record[key], start=1):
        if not isinstance(turn, Mapping):
            raise ValueError(f"{where}: turn {number} is not an object")
        speaker = turn.get("from", turn.get("role"))
        text = _text(turn.get("value", turn.get("content")), f"{where}, turn {number}")
        role = str(speaker).lower()
        if role in _USER:
            turns.append(("user", text))
        elif role in _ASSISTANT:
            turns.append(("assistant", text))
        elif role in _SYSTEM:
            turns.append(("system", text))
        else:
            raise ValueError(
                f"{where}, turn {number}: unknown speaker {speaker!r} "
                "(expected human/user, gpt/assistant or system)"
            )
    return turns


def rows_from_sharegpt(
    records: Iterable[Mapping[str, Any]], tokenizer: Tokenizer, name: str
) -> tuple[list[DatasetRow], int]:
    """The rows of a conversation file, and how many conversations had no user turn.

    The first user turn is the prompt, the first system turn the system prompt,
    and the first assistant answer after the prompt the expected output length.
    """
    rows: list[DatasetRow] = []
    skipped = 0
    for index, record in enumerate(records):
        where = f"{name}, record {index}"
        if not isinstance(record, Mapping) or not is_conversation(record):
            raise ValueError(f'{where}: not a conversation ({{"conversations": [...]}})')
        turns = _turns(record, where)
        users = [text for role, text in turns if role == "user"]
        if not users:
            skipped += 1
            continue
        system = next((text for role, text in turns if role == "system"), None)
        first_user = next(i for i, (role, _) in enumerate(turns) if role == "user")
        answer = next((t for r, t in turns[first_user:] if r == "assistant"), None)
        rows.append(
            DatasetRow(
                prompt=users[0],
                system=system,
                input_tokens=_input_tokens(tokenizer, users[0], system),
                output_tokens=count_tokens(tokenizer, answer),
                timestamp=_timestamp_value(record.get("timestamp"), where),
                source=index,
                user_turns=tuple(users),
            )
        )
    return rows, skipped


def rows_from_columns(
    records: Iterable[Mapping[str, Any]], columns: ColumnMap, tokenizer: Tokenizer, name: str
) -> list[DatasetRow]:
    """The rows of a flat dataset, read through `columns`."""
    rows = []
    wanted = columns.used()
    for index, record in enumerate(records):
        where = f"{name}, record {index}"
        missing = [(role, col) for role, col in wanted.items() if col not in record]
        if missing:
            role, column = missing[0]
            raise ValueError(
                f"{where}: no column {column!r} (the {role.replace('_', ' ')}); the file has "
                f"{', '.join(map(repr, record)) or 'no columns'} (map them with --column "
                f"{role}=NAME or ColumnMap({role}=...))"
            )
        prompt = record[columns.prompt]
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"{where}: the prompt ({columns.prompt!r}) must be a non-empty text")
        system = _optional_text(record, columns.system, where)
        if columns.answer is not None:
            output = count_tokens(tokenizer, _optional_text(record, columns.answer, where))
        else:
            output = _length(record, columns.output_length, where)
        stamp = None if columns.timestamp is None else record[columns.timestamp]
        rows.append(
            DatasetRow(
                prompt=prompt,
                system=system,
                input_tokens=_input_tokens(tokenizer, prompt, system),
                output_tokens=output,
                timestamp=_timestamp_value(stamp, where),
                source=index,
                user_turns=(prompt,),
            )
        )
    return rows


def _input_tokens(tokenizer: Tokenizer, prompt: str, system: str | None) -> int:
    return len(tokenizer.encode(prompt)) + (count_tokens(tokenizer, system) or 0)


def _optional_text(record: Mapping[str, Any], column: str | None, where: str) -> str | None:
    if column is None or _blank(record[column]):
        return None
    value = record[column]
    if not isinstance(value, str):
        raise ValueError(f"{where}: column {column!r} must hold text, not {value!r:.60}")
    return value


def _blank(value: Any) -> bool:
    """An empty cell: None, an empty string, or a float NaN (as pandas and Parquet hold them)."""
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _length(record: Mapping[str, Any], column: str | None, where: str) -> int | None:
    """An expected output length in tokens (CSV cells hold numbers as text)."""
    if column is None or _blank(record[column]):
        return None
    value = record[column]
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(
            f"{where}: column {column!r} must hold a whole number of tokens >= 0, "
            f"not {record[column]!r:.60}"
        )
    return value


def _timestamp_value(value: Any, where: str) -> float | str | None:
    """A timestamp as the file holds it: a number (or numeric text) or a datetime text."""
    if _blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if hasattr(value, "isoformat"):  # a datetime, as Parquet and `datasets` give them
        text: str = value.isoformat()
        return text
    raise ValueError(f"{where}: a timestamp must be a number or a datetime, not {value!r:.60}")
