"""JMESPath-style paths into model answers, compiled once and cheap to apply per chunk.

LLMeter's Bedrock and SageMaker endpoints find the text and token counts in a
model's JSON with JMESPath expressions (``generated_text``,
``choices[0].delta.content``, ``"amazon-bedrock-invocationMetrics".outputTokenCount``).
`JsonPath` accepts the same expressions. The ones that only walk down (keys,
quoted keys, list indexes, and ``a || b`` alternatives of those) are read by a
few dict and list lookups, which a streamed chunk can afford; anything else
(projections such as ``content[].text``, filters, functions) is handed to the
``jmespath`` package, which botocore depends on.

    >>> JsonPath("choices[0].delta.content").search({"choices": [{"delta": {"content": "hi"}}]})
    'hi'
"""

from __future__ import annotations

import re
from typing import Any

import jmespath  # type: ignore[import-untyped]
import orjson
from jmespath.exceptions import JMESPathError  # type: ignore[import-untyped]

__all__ = ["JsonPath"]

Step = str | int
_KEY = re.compile(r'(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"(?P<quoted>(?:[^"\\]|\\.)*)"')
_INDEX = re.compile(r"\[(-?[0-9]+)\]")


def _simple_steps(expression: str) -> tuple[Step, ...] | None:
    """The keys and indexes of a path that only walks down, or None for any other expression.

    A path is a key (``name`` or ``"quoted-name"``) or an index (``[0]``,
    ``[-1]``), then any of ``.key`` and ``[index]``.
    """
    steps: list[Step] = []
    position, end = 0, len(expression)
    while position < end:
        char = expression[position]
        if char == "[":
            match = _INDEX.match(expression, position)
            if match is None:
                return None
            steps.append(int(match.group(1)))
            position = match.end()
            continue
        if steps:
            if char != ".":
                return None
            position += 1
        match = _KEY.match(expression, position)
        if match is None:
            return None
        name, quoted = match.group("name", "quoted")
        if quoted is not None:
            try:
                name = orjson.loads(f'"{quoted}"')
            except orjson.JSONDecodeError:
                return None
        steps.append(name)
        position = match.end()
    return tuple(steps) if steps else None


def _walk(steps: tuple[Step, ...], value: Any) -> Any:
    for step in steps:
        if type(step) is str:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        else:
            if not isinstance(value, list):
                return None
            try:
                value = value[step]  # type: ignore[index]
            except IndexError:
                return None
    return value


class JsonPath:
    """One compiled JMESPath expression; `search` applies it to parsed JSON.

    An invalid expression raises ValueError when the path is made, naming it.
    """

    __slots__ = ("_alternatives", "_compiled", "expression")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._compiled: Any = None
        alternatives = [_simple_steps(part.strip()) for part in expression.split("||")]
        if all(steps is not None for steps in alternatives):
            self._alternatives: tuple[tuple[Step, ...], ...] = tuple(
                steps for steps in alternatives if steps is not None
            )
            return
        self._alternatives = ()
        try:
            self._compiled = jmespath.compile(expression)
        except JMESPathError as exc:
            raise ValueError(f"invalid JMESPath expression {expression!r}: {exc}") from None

    @property
    def simple(self) -> bool:
        """Whether the path is read by plain lookups (no jmespath interpreter per call)."""
        return self._compiled is None

    def search(self, value: Any) -> Any:
        """What the expression finds in `value` (None when nothing), as JMESPath would.

        Like JMESPath, ``a || b`` gives `b` when `a` is missing, null, false
        or empty.
        """
        if self._compiled is not None:
            return self._compiled.search(value)
        found = None
        for steps in self._alternatives:
            found = _walk(steps, value)
            if found or (found == 0 and type(found) is not bool):
                return found
        return found

    def __repr__(self) -> str:
        return f"JsonPath({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JsonPath):
            return NotImplemented
        return self.expression == other.expression

    def __hash__(self) -> int:
        return hash(self.expression)
