"""A dataset's timestamps as seconds, for a trace of arrivals.

A number (or numeric text, as CSV holds it) is in `unit`: ``"s"`` seconds
(the default) or ``"ms"`` milliseconds, e.g. Unix epochs or offsets from
the start. Any other text is an ISO 8601 datetime (``2024-05-01T12:00:00.250Z``);
one without a zone is taken as UTC. Only differences matter: a trace counts
from its first arrival.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

__all__ = ["TIMESTAMP_UNITS", "TimestampUnit", "seconds"]

TimestampUnit = Literal["s", "ms"]
TIMESTAMP_UNITS: dict[str, float] = {"s": 1.0, "ms": 0.001}


def seconds(value: float | str, unit: TimestampUnit, where: str) -> float:
    """`value` in seconds: a number in `unit`, or an ISO 8601 datetime's Unix time."""
    if unit not in TIMESTAMP_UNITS:
        raise ValueError(f"the timestamp unit must be 's' or 'ms', not {unit!r}")
    if isinstance(value, float | int):
        return float(value) * TIMESTAMP_UNITS[unit]
    text = value.strip()
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat takes no Z
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{where}: timestamp {value!r:.40} is neither a number nor an ISO 8601 datetime"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
