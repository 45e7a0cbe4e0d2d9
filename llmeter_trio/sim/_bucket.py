"""The simulated server's rate limit: token buckets for requests and tokens per minute.

A managed API's quota behaves like a bucket per budget: it holds at most one
minute's budget, starts full, refills continuously at budget/60 per second,
and each request takes from it when it is admitted (one request; its input
tokens plus the output tokens it will produce, which the simulator knows when
it plans the answer). A request the buckets cannot cover is refused with 429
and told when it would fit (``Retry-After`` in whole seconds, ``retry-after-ms``
exactly). Every answer carries OpenAI's headers: ``x-ratelimit-limit-*``,
``x-ratelimit-remaining-*`` and ``x-ratelimit-reset-*`` (the time until the
bucket is full again, as ``"1s"``, ``"6m0s"``, ``"20ms"``), for ``requests``
and ``tokens``, each only when that budget is set.

Plain arithmetic on the time it is given, so tests can drive it directly.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["Bucket", "RateLimiter", "format_reset"]

Headers = list[tuple[bytes, bytes]]


@attrs.define
class Bucket:
    """One budget: `per_minute` units, refilled continuously, at most one minute's worth."""

    per_minute: float
    level: float = attrs.field(default=attrs.Factory(lambda self: self.per_minute, takes_self=True))
    updated: float | None = None  # the time `level` was last brought up to date (None: not yet)

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0

    def refill(self, now: float) -> None:
        """Bring `level` up to `now` (the first call starts the clock, with the bucket full)."""
        if self.updated is None:
            self.updated = now
        elif now > self.updated:
            gained = (now - self.updated) * self.per_second
            self.level = min(self.per_minute, self.level + gained)
            self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds `amount` (inf when it never can)."""
        if amount > self.per_minute:
            return math.inf
        return max(0.0, (amount - self.level) / self.per_second)

    def reset_after(self) -> float:
        """Seconds until the bucket is full again."""
        return (self.per_minute - self.level) / self.per_second


def format_reset(seconds: float) -> str:
    """A duration as OpenAI's rate limit headers write it: ``"20ms"``, ``"1.5s"``, ``"6m0s"``."""
    if seconds < 1.0:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60.0)
    rest = round(rest, 3)
    if minutes < 1:
        return f"{rest:g}s"
    hours, minutes = divmod(int(minutes), 60)
    text = f"{minutes}m{rest:g}s"
    return f"{hours}h{text}" if hours else text


@attrs.define
class RateLimiter:
    """The requests and tokens buckets of one server, and what they admitted and refused."""

    requests: Bucket | None
    tokens: Bucket | None
    admitted: int = 0
    throttled: int = 0
    admitted_tokens: int = 0

    @classmethod
    def per_minute(cls, requests: float | None, tokens: float | None) -> RateLimiter | None:
        """Full buckets for the budgets that are set; None when neither is."""
        if requests is None and tokens is None:
            return None
        return cls(
            Bucket(requests) if requests is not None else None,
            Bucket(tokens) if tokens is not None else None,
        )

    def _named(self) -> list[tuple[str, Bucket | None]]:
        return [("requests", self.requests), ("tokens", self.tokens)]

    def admit(self, now: float, tokens: int) -> tuple[str, float] | None:
        """Take one request of `tokens` tokens from the buckets at `now`.

        Returns None when admitted; else what refused it (``"requests"`` or
        ``"tokens"``) and the seconds until it would fit (inf: never, it is
        larger than the budget).
        """
        needs = []
        for name, bucket in self._named():
            if bucket is not None:
                bucket.refill(now)
                needs.append((name, bucket, 1 if name == "requests" else tokens))
        waits = [(bucket.wait_for(amount), name) for name, bucket, amount in needs]
        wait, name = max(waits)
        if wait > 0.0:
            self.throttled += 1
            return name, wait
        for _, bucket, amount in needs:
            bucket.level -= amount
        self.admitted += 1
        self.admitted_tokens += tokens
        return None

    def headers(self, now: float) -> Headers:
        """OpenAI's ``x-ratelimit-*`` headers for the buckets' state at `now`."""
        headers: Headers = []
        for name, bucket in self._named():
            if bucket is None:
                continue
            bucket.refill(now)
            headers += [
                (b"x-ratelimit-limit-" + name.encode(), b"%d" % round(bucket.per_minute)),
                (b"x-ratelimit-remaining-" + name.encode(), b"%d" % max(0, int(bucket.level))),
                (
                    b"x-ratelimit-reset-" + name.encode(),
                    format_reset(bucket.reset_after()).encode(),
                ),
            ]
        return headers
