"""Pacing a `TokenRate` run: a token bucket per budget, corrected by what the answers report.

The dispatcher (`paced_loop`) asks `QuotaPacer.take` before each request; the
run's writer hands every record to `QuotaPacer.settle` once its token counts
are known. Each budget is a bucket of "debt": it refills at budget/60 per
second, a request may leave once the level is at or above zero, and leaving
takes one request and the request's reserved tokens from it (the level may go
below zero: the next request waits until it is paid back). The reservation is
the input tokens counted from the payload plus the output it asks for; the
settlement gives back what was reserved beyond what the request really used
(or takes what it used beyond it). Refilling stops at one second of budget, so
time the run could not use (a concurrency cap) is not saved up for a burst.
Everything that depends only on the payloads is worked out before the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import trio

from ..endpoints import Endpoint, InvocationResponse
from ..schedules import TokenRate
from ..tokenizers import Tokenizer, count_tokens

__all__ = ["QuotaPacer", "requested_output_tokens"]

CREDIT_SECONDS = 1.0  # unused budget a bucket keeps, in seconds of budget
PAID = 1e-9  # seconds: a wait this short is float rounding, not debt
# Where APIs take the output limit: top-level keys, then (object, key) pairs.
_OUTPUT_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens", "max_new_tokens")
_NESTED_OUTPUT_KEYS = (
    ("inferenceConfig", "maxTokens"),  # Bedrock Converse
    ("parameters", "max_new_tokens"),  # TGI, SageMaker
    ("generationConfig", "maxOutputTokens"),  # Gemini
)


def requested_output_tokens(payload: Mapping[str, Any]) -> int:
    """The output tokens a payload asks for at most (``max_tokens`` and its kin); 0 if none."""
    for key in _OUTPUT_KEYS:
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    for outer, key in _NESTED_OUTPUT_KEYS:
        inner = payload.get(outer)
        if isinstance(inner, Mapping):
            value = inner.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return 0


@attrs.define
class _Bucket:
    """One budget: a level that refills at `per_second` up to `cap` and may go negative."""

    per_second: float
    updated: float
    level: float = 0.0  # empty at the start: no burst

    @property
    def cap(self) -> float:
        return self.per_second * CREDIT_SECONDS

    def refill(self, now: float) -> None:
        """Refill up to `cap` (a level above it, from corrections, is kept)."""
        gained = (now - self.updated) * self.per_second
        self.level = max(self.level, min(self.cap, self.level + gained))
        self.updated = now

    def wait(self) -> float:
        """Seconds until the level is back at zero."""
        return max(0.0, -self.level / self.per_second)


@attrs.define
class QuotaPacer:
    """The budgets of one `TokenRate` run, and the reservation of each payload."""

    requests: _Bucket | None
    tokens: _Bucket | None
    inputs: list[int]  # input tokens counted from each payload
    reserved: list[int]  # input + requested output, per payload
    index_of: dict[int, int]  # id(payload) -> its index
    sent: int = 0
    _changed: trio.Event = attrs.field(factory=trio.Event)

    @classmethod
    def for_run(
        cls,
        schedule: TokenRate,
        payloads: Sequence[Mapping[str, Any]],
        tokenizer: Tokenizer | None,
        endpoint: Endpoint,
    ) -> QuotaPacer:
        """The pacer of a run, starting now with empty buckets."""
        now = trio.current_time()
        rpm, tpm = schedule.requests_per_minute, schedule.tokens_per_minute
        prompt_text = getattr(endpoint, "prompt_text", None)
        inputs = []
        for payload in payloads:
            text = prompt_text(payload) if callable(prompt_text) else None
            counted = count_tokens(tokenizer, text) if tokenizer is not None else None
            inputs.append(counted or 0)
        return cls(
            requests=_Bucket(rpm / 60.0, now) if rpm is not None else None,
            tokens=_Bucket(tpm / 60.0, now) if tpm is not None else None,
            inputs=inputs,
            reserved=[
                n + requested_output_tokens(p) for n, p in zip(inputs, payloads, strict=True)
            ],
            index_of={id(payload): index for index, payload in enumerate(payloads)},
        )

    def _buckets(self) -> list[_Bucket]:
        return [bucket for bucket in (self.requests, self.tokens) if bucket is not None]

    async def take(self, payload: Mapping[str, Any]) -> None:
        """Wait until every budget allows a request, then charge `payload`'s reservation.

        A correction that frees budget while this waits lets it leave at once.
        """
        while True:
            now = trio.current_time()
            for bucket in self._buckets():
                bucket.refill(now)
            wait = max(bucket.wait() for bucket in self._buckets())
            if wait <= PAID:
                break
            self._changed = trio.Event()
            with trio.move_on_after(wait):
                await self._changed.wait()
        if self.requests is not None:
            self.requests.level -= 1
        if self.tokens is not None:
            self.tokens.level -= self.reserved[self.index_of[id(payload)]]
        self.sent += 1

    def settle(self, response: InvocationResponse) -> None:
        """Correct the tokens budget by what `response`'s request used beyond its reservation.

        Input tokens are the endpoint's count when it gave one, else the count
        from the payload; output tokens as reported (none for a failed request).
        """
        index = response.payload_index
        if self.tokens is None or index is None:
            return
        used_input = response.num_tokens_input
        if used_input is None:
            used_input = self.inputs[index]
        used = used_input + (response.num_tokens_output or 0)
        refund = self.reserved[index] - used
        if refund:
            self.tokens.level += refund  # owed, so not capped
            self._changed.set()
