"""Sorting failures into `ErrorClass` buckets (HTTP statuses and exceptions alike), and
reading what a server says about its rate limits (Retry-After, x-ratelimit-*)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from ._response import ErrorClass

__all__ = [
    "EndpointError",
    "classify_exception",
    "classify_status",
    "describe_exception",
    "parse_duration",
    "rate_limit_headers",
    "retry_after_seconds",
]


class EndpointError(Exception):
    """An adapter's way to report a failed request with its class and status.

    Raise it from `Endpoint.invoke` (or return `InvocationResponse.error_output`)
    when the endpoint answered with an error the adapter understood.
    """

    def __init__(
        self, message: str, error_class: ErrorClass, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.status_code = status_code


def classify_status(status_code: int) -> ErrorClass:
    """The error class of a non-success HTTP status."""
    if status_code == 429:
        return ErrorClass.THROTTLED
    if status_code >= 500:
        return ErrorClass.SERVER
    return ErrorClass.CLIENT


def classify_exception(exc: BaseException) -> tuple[ErrorClass, int | None]:
    """The error class and HTTP status (when there is one) of an exception."""
    if isinstance(exc, EndpointError):
        return exc.error_class, exc.status_code
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return classify_status(status), status
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ErrorClass.TIMEOUT, None
    if isinstance(exc, httpx.TransportError | ConnectionError | OSError):
        # NetworkError (connect, read, write, close), ProtocolError (remote
        # closed mid-response) and proxy errors all mean the connection failed.
        return ErrorClass.CONNECTION, None
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | httpx.DecodingError):
        return ErrorClass.PROTOCOL, None
    return ErrorClass.OTHER, None


def describe_exception(exc: BaseException) -> str:
    """``"Type: message"`` for an error record.

    An exception without a message (httpx's `ConnectError` for a failed TLS
    handshake has none) is explained by the first exception in its chain that
    has one: ``"ConnectError: SSLCertVerificationError: [SSL: ...] ..."``.
    """
    name = type(exc).__name__
    text = str(exc)
    if text:
        return f"{name}: {text}"
    seen = {id(exc)}
    inner = exc.__cause__ or exc.__context__
    while inner is not None and id(inner) not in seen:
        if str(inner):
            return f"{name}: {type(inner).__name__}: {inner}"
        seen.add(id(inner))
        inner = inner.__cause__ or inner.__context__
    return name


# OpenAI's x-ratelimit-* names, and Anthropic's anthropic-ratelimit-* ones, as one set of keys
_RATE_LIMIT_NAMES = {
    "x-ratelimit-limit-requests": "limit_requests",
    "x-ratelimit-remaining-requests": "remaining_requests",
    "x-ratelimit-reset-requests": "reset_requests",
    "x-ratelimit-limit-tokens": "limit_tokens",
    "x-ratelimit-remaining-tokens": "remaining_tokens",
    "x-ratelimit-reset-tokens": "reset_tokens",
    "anthropic-ratelimit-requests-limit": "limit_requests",
    "anthropic-ratelimit-requests-remaining": "remaining_requests",
    "anthropic-ratelimit-requests-reset": "reset_requests",
    "anthropic-ratelimit-tokens-limit": "limit_tokens",
    "anthropic-ratelimit-tokens-remaining": "remaining_tokens",
    "anthropic-ratelimit-tokens-reset": "reset_tokens",
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")
_SECONDS_PER_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def rate_limit_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The rate-limit headers of an answer under one set of names (see `_RATE_LIMIT_NAMES`),
    values as the server wrote them; None when it sent none."""
    found = {}
    for name, key in _RATE_LIMIT_NAMES.items():
        value = headers.get(name)
        if value is not None:
            found[key] = value
    return found or None


def parse_duration(text: str) -> float | None:
    """Seconds in a duration as OpenAI writes its resets (``"1s"``, ``"6m0s"``, ``"20ms"``,
    ``"1h2m3.5s"``) or a plain number of seconds; None when it is neither."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match[1]) * _SECONDS_PER_UNIT[match[2]]
        position = match.end()
    return total if position == len(text) and position else None


def _seconds_until(text: str, now: datetime) -> float | None:
    """Seconds from `now` to an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``) or an RFC 3339
    time (Anthropic's resets); None when `text` is neither."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _delay(text: str, now: datetime) -> float | None:
    seconds = parse_duration(text)
    return seconds if seconds is not None else _seconds_until(text, now)


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long the server asks the client to wait before its next request, in seconds.

    ``retry-after-ms`` first (milliseconds), then ``Retry-After`` (seconds or an
    HTTP date, counted from `now`, the wall clock when not given), then the
    rate-limit resets: of the budgets the server says are used up (remaining 0),
    the latest reset; if it says none is, the latest of all. None when the
    answer names no wait.
    """
    now = now or datetime.now(timezone.utc)
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        seconds = parse_duration(milliseconds)
        if seconds is not None:
            return seconds / 1000
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _delay(retry_after, now)
        if seconds is not None:
            return seconds
    limits = rate_limit_headers(headers)
    if not limits:
        return None
    resets: dict[str, float] = {}
    for budget in ("requests", "tokens"):
        reset = limits.get(f"reset_{budget}")
        seconds = _delay(reset, now) if reset is not None else None
        if seconds is not None:
            resets[budget] = seconds
    used_up = [s for b, s in resets.items() if limits.get(f"remaining_{b}", "").strip() == "0"]
    chosen = used_up or list(resets.values())
    return max(chosen) if chosen else None
