"""Multi-turn sessions: conversations of several turns, each sending the whole history.

A session starts with one of the run's payloads (turn 1). When its answer
arrives, the client thinks for a while (a draw from `think_time`, seconds),
then sends turn 2: the same conversation with the *real* answer it got and a
follow-up user message appended (`Endpoint.continue_conversation` builds it in
the endpoint's own format); and so on for `turns` turns. So each turn's input
grows with the history, and its time to first token with it.

Follow-up messages come from `follow_ups`: a list of texts (each turn draws
one, seeded), or one list per payload (a dataset's whole conversations: the
session that starts with payload ``i`` says ``follow_ups[i]`` in order, and has
as many turns as that list allows); by default, short texts cut from
`~llmeter_trio.prompts.SAMPLE_TEXT_FILE`. A payload may also carry its own
list under `WORKLOAD_KEY` (``{"follow_ups": [...]}``), which wins.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._distributions import Distribution, Fixed, distribution_from_config

__all__ = ["Sessions", "sessions_from_config"]

# the length, in words, of a default follow-up message cut from the sample text
FOLLOW_UP_WORDS = (8, 24)


def _think_time(value: Distribution | float | int | str | Mapping[str, Any]) -> Distribution:
    try:
        return distribution_from_config(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"think_time: {exc}") from None


def _follow_ups(value: Any) -> tuple[str, ...] | tuple[tuple[str, ...], ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValueError("follow_ups must be a non-empty list of texts, or one list per payload")
    if all(isinstance(item, str) for item in value):
        return tuple(value)
    if all(
        isinstance(item, Sequence)
        and not isinstance(item, str)
        and all(isinstance(text, str) for text in item)
        for item in value
    ):
        return tuple(tuple(item) for item in value)
    raise ValueError("follow_ups must be a list of texts, or one list of texts per payload")


def _turns(_instance: Any, _attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"turns must be a whole number of at least 1, not {value!r}")


@attrs.frozen(kw_only=True)
class Sessions:
    """Conversations of `turns` turns, `think_time` seconds apart (a `Distribution`, a
    number, or its short form such as ``"lognormal:5,0.5"``), each turn after the first
    saying one of the `follow_ups` (default: short texts cut from the sample text).

    Give it to ``Runner.run(sessions=...)``: in a closed loop each client runs one
    session after another; in an open loop each arrival starts a session (the rate
    counts sessions), and `n_requests` counts sessions too.
    """

    turns: int = attrs.field(validator=_turns)
    think_time: Distribution = attrs.field(default=Fixed(0.0), converter=_think_time)
    follow_ups: tuple[str, ...] | tuple[tuple[str, ...], ...] | None = attrs.field(
        default=None, converter=_follow_ups
    )

    @property
    def per_payload(self) -> bool:
        """Whether `follow_ups` holds one conversation per payload."""
        return bool(self.follow_ups) and not isinstance(self.follow_ups[0], str)  # type: ignore[index]

    def to_config(self) -> dict[str, Any]:
        """The saved form (``run_config.json``'s ``sessions``); `sessions_from_config` reads it."""
        follow_ups: Any = self.follow_ups
        if follow_ups is not None:
            follow_ups = [list(item) if isinstance(item, tuple) else item for item in follow_ups]
        return {
            "turns": self.turns,
            "think_time": self.think_time.to_config(),
            "follow_ups": follow_ups,
        }

    def check_payloads(self, payload_count: int) -> None:
        """Refuse per-payload follow-ups that do not pair with the payloads one to one."""
        if self.per_payload and len(self.follow_ups or ()) != payload_count:
            raise ValueError(
                f"follow_ups holds {len(self.follow_ups or ())} conversations for "
                f"{payload_count} payloads: give one list of follow-ups per payload"
            )

    def conversation(
        self,
        seed: int,
        session: int,
        workload: Mapping[str, Any] | None,
        payload_index: int | None,
    ) -> Conversation:
        """What session number `session` will say and wait, seeded from the run's `seed`."""
        # (two streams: a session's think times do not depend on what it says)
        think = random.Random(f"{seed}:session:{session}:think")
        say = random.Random(f"{seed}:session:{session}:say")
        given = (workload or {}).get("follow_ups")
        if isinstance(given, list) and all(isinstance(text, str) for text in given):
            scripted: Sequence[str] | None = given
        elif self.per_payload and payload_index is not None:
            scripted = self.follow_ups[payload_index]  # type: ignore[index]
        else:
            scripted = None
        return Conversation(self, think, say, scripted)


class Conversation:
    """One session's script: how many turns it has, its follow-ups and think times."""

    def __init__(
        self,
        sessions: Sessions,
        think: random.Random,
        say: random.Random,
        scripted: Sequence[str] | None,
    ) -> None:
        self._sessions = sessions
        self._think = think
        self._say = say
        self._scripted = scripted
        self.turns = sessions.turns if scripted is None else min(sessions.turns, 1 + len(scripted))

    def think_time(self) -> float:
        """Seconds to wait before the next turn (a fresh draw)."""
        return max(0.0, self._sessions.think_time.sample(self._think))

    def follow_up(self, turn: int) -> str:
        """The user message of `turn` (2, 3, ...)."""
        if self._scripted is not None:
            return self._scripted[turn - 2]
        pool = self._sessions.follow_ups
        if pool is not None:
            return str(self._say.choice(pool))
        return _sample_text_follow_up(self._say)


def _sample_text_follow_up(rng: random.Random) -> str:
    words = _sample_words()
    length = rng.randint(*FOLLOW_UP_WORDS)
    start = rng.randrange(len(words) - length)
    return " ".join(words[start : start + length])


@functools.cache
def _sample_words() -> tuple[str, ...]:
    from ..prompts import SAMPLE_TEXT_FILE  # (prompts imports tokenizers: not at import time)

    with open(SAMPLE_TEXT_FILE, encoding="utf-8") as file:
        return tuple(file.read().split())


def sessions_from_config(
    config: Sessions | Mapping[str, Any] | int | None,
) -> Sessions | None:
    """`Sessions` from itself, its saved form, or a number of turns (None: no sessions)."""
    if config is None or isinstance(config, Sessions):
        return config
    if isinstance(config, int) and not isinstance(config, bool):
        return Sessions(turns=config)
    if isinstance(config, Mapping):
        unknown = set(config) - {"turns", "think_time", "follow_ups"}
        if unknown:
            raise ValueError(f"sessions: unknown option(s) {', '.join(sorted(unknown))}")
        if "turns" not in config:
            raise ValueError("sessions: 'turns' is required")
        return Sessions(**config)
    raise TypeError(f"sessions must be Sessions, a dict or a number of turns, not {config!r}")
