"""Schedules: when each request of a run is due.

A **closed loop** (`ClosedLoop`) has N clients, each sending its next request
when its last answer ends: the endpoint's speed sets the pace, so a slow
endpoint is offered less load. An **open loop** sends requests when they are
due whatever happened to earlier ones (`ConstantRate`, `Poisson`, `Gamma`,
`Ramp`, `TraceReplay`), as independent users do; queueing then shows up as
latency instead of hiding as a lower request rate (coordinated omission).
`TokenRate` sends as fast as a quota (requests and/or tokens per minute)
allows: its pace follows the tokens the answers report.

Open-loop schedules yield `Arrival`s: a due time in seconds from the run's
start and, optionally, the payload to send. They are seeded, so the same seed
gives the same arrivals. Any of them takes `max_concurrency` to cap how many
requests are in flight; a request that waits for a slot still counts its wait
from its due time. A schedule is saved as ``{"schedule": NAME, **options}``
(`Schedule.to_config`) and rebuilt by `llmeter_trio.plugins.schedule_from_config`.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import attrs

from ._checks import numeric
from .storage import loads, resolve

__all__ = [
    "Arrival",
    "ClosedLoop",
    "ConstantRate",
    "Gamma",
    "OpenLoopSchedule",
    "Poisson",
    "Ramp",
    "Schedule",
    "TokenRate",
    "TraceReplay",
]


@attrs.frozen
class Arrival:
    """One due request: when (seconds from the run's start) and, optionally, what to send.

    `payload` is None (draw the next payload), an index into the run's
    payloads, or a payload dict.
    """

    time: float
    payload: int | dict[str, Any] | None = None


_positive = numeric()
_cap = numeric(whole=True)


@attrs.frozen(kw_only=True)
class Schedule:
    """Base of every schedule; `name` is what it is registered and saved under."""

    name: ClassVar[str] = ""

    def to_config(self) -> dict[str, Any]:
        """The saved form: ``{"schedule": NAME, **options}``."""
        return {"schedule": self.name, **attrs.asdict(self)}


@attrs.frozen(kw_only=True)
class ClosedLoop(Schedule):
    """`clients` clients, each sending its next request when its last one ends."""

    name = "closed"
    clients: int = attrs.field(default=1, validator=_cap)


@attrs.frozen(kw_only=True)
class OpenLoopSchedule(Schedule):
    """A schedule of due times, independent of how fast the endpoint answers."""

    max_concurrency: int | None = attrs.field(default=None, validator=_cap)

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        """Due requests in time order; may be endless (the run's bound stops it)."""
        raise NotImplementedError


def _from_gaps(gaps: Callable[[], float]) -> Iterator[Arrival]:
    now = 0.0
    while True:
        yield Arrival(now)
        now += gaps()


@attrs.frozen(kw_only=True)
class ConstantRate(OpenLoopSchedule):
    """`rate` requests per second, evenly spaced."""

    name = "constant"
    rate: float = attrs.field(validator=_positive)

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        count = 0
        while True:
            yield Arrival(count / self.rate)
            count += 1


@attrs.frozen(kw_only=True)
class Poisson(OpenLoopSchedule):
    """`rate` requests per second on average, with exponential gaps (independent users)."""

    name = "poisson"
    rate: float = attrs.field(validator=_positive)

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        return _from_gaps(lambda: rng.expovariate(self.rate))


@attrs.frozen(kw_only=True)
class Gamma(OpenLoopSchedule):
    """`rate` requests per second on average, with gamma-distributed gaps.

    `burstiness` is the gamma shape: 1 is Poisson, below 1 burstier (clumps
    and lulls), above 1 more regular.
    """

    name = "gamma"
    rate: float = attrs.field(validator=_positive)
    burstiness: float = attrs.field(default=1.0, validator=_positive)

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        scale = 1 / (self.rate * self.burstiness)
        return _from_gaps(lambda: rng.gammavariate(self.burstiness, scale))


@attrs.frozen(kw_only=True)
class Ramp(OpenLoopSchedule):
    """A rate rising (or falling) linearly from `start_rate` to `end_rate` over
    `duration` seconds, then holding `end_rate`.

    Arrivals are evenly spaced in expected count (the k-th is due when the
    expected number of arrivals reaches k), or Poisson with `poisson=True`.
    """

    name = "ramp"
    start_rate: float = attrs.field(validator=numeric(at_least=0))
    end_rate: float = attrs.field(validator=_positive)
    duration: float = attrs.field(validator=_positive)
    poisson: bool = False

    def rate_at(self, t: float) -> float:
        """The intended rate at `t` seconds."""
        if t >= self.duration:
            return self.end_rate
        return self.start_rate + (self.end_rate - self.start_rate) * t / self.duration

    def expected_count(self, t: float) -> float:
        """Expected arrivals by `t`: the integral of the rate."""
        within = min(t, self.duration)
        count = self.start_rate * within + (self.end_rate - self.start_rate) * within**2 / (
            2 * self.duration
        )
        return count + self.end_rate * max(0.0, t - self.duration)

    def time_of_count(self, count: float) -> float:
        """The time at which `expected_count` reaches `count` (its inverse)."""
        at_end = self.expected_count(self.duration)
        if count >= at_end:
            return self.duration + (count - at_end) / self.end_rate
        slope = (self.end_rate - self.start_rate) / self.duration
        if slope == 0:
            return count / self.start_rate
        # slope/2 t^2 + start t - count = 0, the root in [0, duration]
        return (-self.start_rate + math.sqrt(self.start_rate**2 + 2 * slope * count)) / slope

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        count = 0.0
        while True:
            yield Arrival(self.time_of_count(count))
            count += rng.expovariate(1.0) if self.poisson else 1.0


@attrs.frozen(kw_only=True)
class TraceReplay(OpenLoopSchedule):
    """Replays recorded arrival times from a file (any fsspec URL).

    The file is JSONL, one ``{"timestamp": seconds}`` per line, optionally with
    ``"payload"``: an index into the run's payloads or a payload object; or
    plain text with one number per line. Times are relative to the first one
    and multiplied by `time_scale` (0.5 replays twice as fast).
    """

    name = "trace"
    path: str
    time_scale: float = attrs.field(default=1.0, validator=_positive)

    def load(self) -> list[Arrival]:
        """The trace's arrivals, checked and sorted."""
        fs, path = resolve(os.fspath(self.path))
        try:
            with fs.open(path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            raise FileNotFoundError(f"no trace file at {self.path}") from None
        raw: list[Arrival] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            raw.append(_trace_line(line, f"{self.path}, line {number}"))
        if not raw:
            raise ValueError(f"{self.path}: the trace has no arrivals")
        raw.sort(key=lambda a: a.time)
        start = raw[0].time
        return [Arrival((a.time - start) * self.time_scale, a.payload) for a in raw]

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        return iter(self.load())


def _trace_line(line: bytes, where: str) -> Arrival:
    try:
        value = loads(line)
    except ValueError:
        raise ValueError(f"{where}: not JSON nor a number") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Arrival(float(value))
    if not isinstance(value, dict) or not isinstance(value.get("timestamp"), int | float):
        raise ValueError(f'{where}: expected a number or {{"timestamp": seconds, ...}}')
    payload = value.get("payload")
    if payload is not None and not isinstance(payload, int | dict):
        raise ValueError(f"{where}: 'payload' must be an index or an object")
    return Arrival(float(value["timestamp"]), payload)


@attrs.frozen(kw_only=True)
class TokenRate(OpenLoopSchedule):
    """As fast as a quota allows and no faster: `requests_per_minute` and/or
    `tokens_per_minute`, as a managed API (Bedrock, OpenAI, Anthropic, Azure) sets them.

    Each budget is a token bucket that refills continuously at budget/60 per
    second; a request leaves as soon as every bucket is out of debt, and takes
    one request and its tokens from them. Its tokens are its input (counted
    from the payload with the run's tokenizer) plus the output it asks for
    (``max_tokens`` or the API's equivalent) as a reservation; when its answer
    comes back with the tokens it really used (the endpoint's counts, else the
    tokenizer's), the bucket is corrected by the difference. The buckets start
    empty (no burst at the start) and keep at most one second of unused budget,
    so the pace is smooth: over any stretch of the run, the tokens sent stay
    within one request of budget x time.
    """

    name = "tokenrate"
    requests_per_minute: float | None = attrs.field(default=None, validator=_positive)
    tokens_per_minute: float | None = attrs.field(default=None, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            raise ValueError("TokenRate needs requests_per_minute, tokens_per_minute or both")

    def arrivals(self, rng: random.Random) -> Iterator[Arrival]:
        """None in advance: when each request leaves depends on the answers so far."""
        raise TypeError("TokenRate has no arrivals in advance: the run paces it as answers come")
