"""Multi-turn sessions in a run: one conversation after its first payload, turn by turn.

`SessionLoop.issue` has the shape of the run's `issue` (one payload, when it
was due, which client, the writer's channel), so the closed and open loops
drive sessions as they drive single requests: a closed-loop client runs one
session after another; each open-loop arrival starts one. A session sends its
first payload, then, after a think time, the conversation so far with the real
answer and a follow-up message (`Endpoint.continue_conversation`), and so on.

Every turn is one request with its own record (``session``, ``turn``); the
session's last record says how it ended (``session_end``): ``"completed"``,
``"failed"`` (a failed turn ends its session) or ``"cut"`` (the run's deadline
or a stop came first). Think times are no request's latency: a turn's intended
send time is the end of the think time before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from ..endpoints import Endpoint, ErrorClass, InvocationResponse
from ..schedules import OpenLoopSchedule, TokenRate
from ..workloads import WORKLOAD_KEY, Sessions, sessions_from_config, split_workload
from ..workloads._sessions import Conversation
from ._stop import LoadStop

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = [
    "COMPLETED",
    "CUT",
    "FAILED",
    "Mark",
    "SessionCounts",
    "SessionLoop",
    "TurnIssue",
    "check_sessions",
]

COMPLETED, FAILED, CUT = "completed", "failed", "cut"
# what the workload asked of a first turn only (a later turn's input is the history)
_FIRST_TURN_ONLY = ("input_tokens", "follow_ups")

Send = trio.MemorySendChannel[InvocationResponse]
Mark = Callable[[InvocationResponse], None]


class TurnIssue(Protocol):
    """The run's `issue`: send one request, let `mark` set its fields before the writer gets
    it, and return its record (None when nothing was sent)."""

    def __call__(
        self,
        payload: dict[str, Any],
        intended: float,
        client: int | None,
        send: Send,
        mark: Mark | None = None,
    ) -> Awaitable[InvocationResponse | None]: ...


class SessionCounts(Protocol):
    """What a live display reads of a run's sessions (a `SessionLoop`, or a split run's sum)."""

    @property
    def started(self) -> int: ...

    @property
    def active(self) -> int: ...


@attrs.define
class SessionLoop:
    """Runs whole sessions where the loops run single requests, numbered by `numbers`: 0, 1,
    ... in one process; a worker of a split run is given numbers unique in the run (see
    `llmeter_trio.distributed._split.session_numbers`)."""

    send_turn: TurnIssue
    sessions: Sessions
    endpoint: Endpoint
    seed: int
    stop: LoadStop
    payload_index: Callable[[dict[str, Any]], int | None]
    stop_at: float = float("inf")
    numbers: Iterator[int] = attrs.field(factory=itertools.count)
    started: int = 0  # sessions started so far (a live display may read it)
    active: int = 0  # sessions in progress

    def ends(self, at: float) -> bool:
        """Whether no turn may start at `at`: the run stopped or its time is over."""
        return self.stop.requested or at >= self.stop_at

    async def issue(
        self, payload: dict[str, Any], intended: float, client: int | None, send: Send
    ) -> None:
        """Run one session that starts with `payload`, its first turn due at `intended`."""
        number = next(self.numbers)
        self.started += 1
        self.active += 1
        try:
            await self._session(number, payload, intended, client, send)
        finally:
            self.active -= 1

    async def _session(
        self, number: int, payload: dict[str, Any], intended: float, client: int | None, send: Send
    ) -> None:
        _, asked = split_workload(payload)
        script = self.sessions.conversation(self.seed, number, asked, self.payload_index(payload))
        turn = 1
        while True:
            ending = _TurnEnd(self, script, number, turn)
            record = await self.send_turn(payload, intended, client, send, ending.mark)
            if record is None or ending.end is not None:
                return  # (None: the run ended before the turn was sent)
            with trio.move_on_at(ending.wake):
                await self.stop.wait()
            if self.ends(trio.current_time()):
                return  # stopped while thinking: cut (its last record was already written)
            turn += 1
            payload = self._next_turn(payload, record, script.follow_up(turn))
            intended = ending.wake

    def _next_turn(
        self, payload: dict[str, Any], record: InvocationResponse, user_message: str
    ) -> dict[str, Any]:
        """The payload of the next turn: the history, the real answer, the next message."""
        sent, asked = split_workload(payload)
        following = self.endpoint.continue_conversation(
            sent, record.response_text or "", user_message
        )
        if asked is not None:
            kept = {k: v for k, v in asked.items() if k not in _FIRST_TURN_ONLY}
            if kept:
                following = {**following, WORKLOAD_KEY: kept}
        return following


@attrs.define
class _TurnEnd:
    """What one turn's end decides, as its record is made: the session's end, if this turn
    is its last, else when the next turn is due (after a think time)."""

    loop: SessionLoop
    script: Conversation
    session: int
    turn: int
    end: str | None = None
    wake: float = 0.0

    def mark(self, record: InvocationResponse) -> None:
        """Number the record, and say on it how the session ended when it did."""
        record.session, record.turn = self.session, self.turn
        if record.failed:
            self.end = CUT if record.error_class is ErrorClass.CANCELLED else FAILED
        elif self.turn >= self.script.turns:
            self.end = COMPLETED
        else:
            self.wake = trio.current_time() + self.script.think_time()
            if self.loop.ends(self.wake):
                self.end = CUT
        record.session_end = self.end


def check_sessions(
    settings: Runner, schedule: OpenLoopSchedule | None, payloads: list[dict[str, Any]]
) -> Sessions | None:
    """A run's sessions, checked against the rest of its settings before anything runs."""
    sessions = sessions_from_config(settings.sessions)
    if sessions is None:
        return None
    endpoint = settings.endpoint
    if isinstance(endpoint, Endpoint) and not endpoint.holds_conversations():
        name = endpoint.endpoint_type or type(endpoint).__name__
        raise ValueError(
            f"{name} cannot hold a conversation (no continue_conversation): multi-turn "
            "sessions need an endpoint with a chat format (openai-chat, openai-responses, "
            "anthropic-messages, bedrock-converse, litellm)"
        )
    if isinstance(schedule, TokenRate):
        raise ValueError(
            "multi-turn sessions cannot be paced by a token quota (TokenRate): use clients "
            "or an arrival schedule, whose rate then counts sessions"
        )
    sessions.check_payloads(len(payloads))
    if isinstance(endpoint, Endpoint):
        for index, payload in enumerate(payloads):  # before anything runs, not mid-run
            try:
                endpoint.continue_conversation(split_workload(payload)[0], "answer", "next")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"payload #{index} cannot start a conversation: {exc}") from None
    return sessions
