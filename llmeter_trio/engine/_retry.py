"""`Retry`: how a client sends a failed request again, as a real client of a managed API does.

Off by default, so a run measures the server's raw behaviour. With a policy,
a failed attempt whose error class (or status) retries is sent again after a
wait: the server's own (``Retry-After``, ``retry-after-ms``,
``x-ratelimit-reset-*``) when it gives one and `respect_retry_after` is set,
else an exponential backoff with full jitter, ``uniform(0, min(max_wait,
base_delay * 2 ** (retry - 1)))``, drawn from a generator seeded by the run's
seed and the request's number (a run is repeatable). No wait is longer than
`max_wait`; the run's request timeout bounds the whole request, waits
included: a wait that would pass it ends the retries.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import attrs

from .._checks import numeric
from ..endpoints import ErrorClass, InvocationResponse

__all__ = ["DEFAULT_RETRY_ON", "Retry", "retry_policy"]

DEFAULT_RETRY_ON = (ErrorClass.THROTTLED, ErrorClass.SERVER, ErrorClass.CONNECTION)


def _error_classes(value: Any) -> tuple[ErrorClass, ...]:
    if isinstance(value, str | ErrorClass):
        value = (value,)
    try:
        return tuple(ErrorClass(v) for v in value)
    except ValueError as exc:
        names = ", ".join(c.value for c in ErrorClass)
        raise ValueError(f"retry_on takes error classes ({names}): {exc}") from None


def _statuses(value: Any) -> tuple[int, ...]:
    statuses = tuple(value)
    for status in statuses:
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ValueError(f"statuses takes HTTP statuses (100-599), not {status!r}")
    return statuses


@attrs.frozen(kw_only=True)
class Retry:
    """A retry policy: ``Runner(..., retry=Retry(max_attempts=5))``.

    - `max_attempts`: attempts per request in all, the first included (1: no retry).
    - `base_delay`: seconds; the backoff before retry k is drawn from
      ``[0, base_delay * 2 ** (k - 1)]`` (full jitter).
    - `max_wait`: seconds; no single wait is longer (the server's included).
    - `retry_on`: error classes that retry (default: throttled, server, connection).
    - `statuses`: HTTP statuses that retry besides those classes (e.g. 408).
    - `respect_retry_after`: wait as long as the server asks, when it does.
    """

    max_attempts: int = attrs.field(default=3, validator=numeric(whole=True, at_least=1))
    base_delay: float = attrs.field(default=0.5, validator=numeric(at_least=0))
    max_wait: float = attrs.field(default=60.0, validator=numeric(at_least=0))
    retry_on: tuple[ErrorClass, ...] = attrs.field(
        default=DEFAULT_RETRY_ON, converter=_error_classes
    )
    statuses: tuple[int, ...] = attrs.field(default=(), converter=_statuses)
    respect_retry_after: bool = True

    def retries(self, response: InvocationResponse) -> bool:
        """Whether this failed attempt is one to send again."""
        if not response.failed:
            return False
        if response.status_code is not None and response.status_code in self.statuses:
            return True
        return response.error_class in self.retry_on

    def wait(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the second attempt)."""
        if retry_after is not None and self.respect_retry_after:
            return min(max(0.0, retry_after), self.max_wait)
        ceiling = min(self.max_wait, self.base_delay * 2.0 ** (retry - 1))
        return rng.uniform(0.0, ceiling)

    @staticmethod
    def rng(seed: int, request: int) -> random.Random:
        """The backoff's generator for one request: the run's seed and the request's number."""
        return random.Random(f"{seed}:{request}")

    def to_config(self) -> dict[str, Any]:
        """The policy as saved in ``run_config.json``."""
        return {
            "max_attempts": self.max_attempts,
            "base_delay": self.base_delay,
            "max_wait": self.max_wait,
            "retry_on": [c.value for c in self.retry_on],
            "statuses": list(self.statuses),
            "respect_retry_after": self.respect_retry_after,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Retry:
        """A policy from its saved configuration (unknown keys are an error)."""
        fields = {field.name for field in attrs.fields(cls)}
        unknown = set(config) - fields
        if unknown:
            raise ValueError(
                f"unknown retry options {sorted(unknown)}; known: {', '.join(sorted(fields))}"
            )
        return cls(**config)


def retry_policy(value: Retry | Mapping[str, Any] | int | None) -> Retry | None:
    """A run's `retry=` setting as a policy: a `Retry`, its configuration (a dict), a number
    of attempts in all, or None / 0 / 1 for none."""
    if value is None:
        return None
    if isinstance(value, Retry):
        policy = value
    elif isinstance(value, Mapping):
        policy = Retry.from_config(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"retry takes a number of attempts (1 or more), not {value}")
        policy = Retry(max_attempts=max(1, value))
    else:
        raise TypeError(f"retry takes a Retry, a dict of its options or None, not {value!r}")
    return policy if policy.max_attempts > 1 else None
