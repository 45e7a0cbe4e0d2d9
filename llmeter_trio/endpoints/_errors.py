"""Sorting failures into `ErrorClass` buckets: HTTP statuses and exceptions alike."""

from __future__ import annotations

import json

import httpx

from ._response import ErrorClass

__all__ = ["EndpointError", "classify_exception", "classify_status", "describe_exception"]


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
