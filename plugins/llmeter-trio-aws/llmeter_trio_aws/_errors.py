"""Bedrock's and SageMaker's errors, sorted into `ErrorClass` buckets.

Both APIs name each error (``ThrottlingException``, ``ModelError``, ...):
before the answer in the ``x-amzn-ErrorType`` header or the JSON body's
``__type``, with the text in ``message`` (or ``Message``); inside a stream as
an ``exception`` message whose ``:exception-type`` is the same name with a
lower-case first letter. The name decides, not the status: SageMaker throttles
with HTTP 400, Bedrock reports a model that is not ready with HTTP 429, and
SageMaker relays a model container's failure as HTTP 424 ``ModelError`` (its
``OriginalStatusCode`` and ``OriginalMessage`` are kept in the message). An
error no rule names is classed by its status (429 throttled, 5xx server,
other 4xx client).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmeter_trio.endpoints import ErrorClass, InvocationResponse, classify_status

__all__ = [
    "MAX_ERROR_CHARS",
    "classify_error_name",
    "describe_http_error",
    "error_name",
    "http_error_response",
    "known_error_class",
]

MAX_ERROR_CHARS = 2048  # characters of an error message kept in the record

# Lower-cased error names, without a trailing "exception".
_THROTTLED = frozenset(
    {"throttling", "toomanyrequests", "servicequotaexceeded", "limitexceeded",
     "provisionedthroughputexceeded", "requestlimitexceeded"}
)  # fmt: skip
_SERVER = frozenset(
    {"serviceunavailable", "internalserver", "internalfailure", "internalstreamfailure",
     "modelerror", "modelstreamerror", "modeltimeout", "modelnotready", "internalservererror",
     "serviceerror"}
)  # fmt: skip
_CLIENT = frozenset(
    {"validation", "validationerror", "accessdenied", "resourcenotfound", "unrecognizedclient",
     "invalidsignature", "incompletesignature", "missingauthenticationtoken", "expiredtoken",
     "conflict", "modelnotfound", "notfound", "badrequest"}
)  # fmt: skip


def error_name(raw: str | None) -> str | None:
    """The bare error name from a header or ``__type`` value.

    ``ThrottlingException:http://internal.amazon.com/coral/...`` and
    ``com.amazon.coral.service#ThrottlingException`` both give
    ``ThrottlingException``.
    """
    if not raw:
        return None
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name or None


def known_error_class(name: str) -> ErrorClass | None:
    """The class of an AWS error name this module knows, or None."""
    key = name.lower()
    if key.endswith("exception"):
        key = key[: -len("exception")]
    if key in _THROTTLED or "throttl" in key:
        return ErrorClass.THROTTLED
    if key in _SERVER:
        return ErrorClass.SERVER
    if key in _CLIENT:
        return ErrorClass.CLIENT
    return None


def classify_error_name(name: str | None, status: int | None = None) -> ErrorClass:
    """The class of a named AWS error; by `status` when the name says nothing known.

    Without either, a server error: the service accepted the request, then failed.
    """
    if name:
        known = known_error_class(name)
        if known is not None:
            return known
    if status is not None and status >= 400:
        return classify_status(status)
    return ErrorClass.SERVER


def _body_object(body: bytes) -> Mapping[str, Any] | None:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, Mapping) else None


def _message(obj: Mapping[str, Any] | None, body: bytes) -> str:
    if obj is not None:
        for key in ("message", "Message", "errorMessage"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
    return body[:MAX_ERROR_CHARS].decode("utf-8", "replace").strip()


def describe_http_error(status: int, error_type: str | None, body: bytes) -> tuple[ErrorClass, str]:
    """The class and one-line message of an error answer.

    `error_type` is the ``x-amzn-ErrorType`` header, when the answer had one;
    `body` is the answer's bytes.
    """
    obj = _body_object(body)
    name = error_name(error_type)
    if name is None and obj is not None:
        for key in ("__type", "code", "Code", "ErrorCode"):
            value = obj.get(key)
            if isinstance(value, str):
                name = error_name(value)
                if name:
                    break
    message = _message(obj, body)
    if obj is not None and "OriginalStatusCode" in obj:  # SageMaker relaying its container
        original = obj.get("OriginalMessage")
        message = f"{message} (OriginalStatusCode {obj['OriginalStatusCode']}"
        message += f", OriginalMessage {original!r})" if original else ")"
    text = f"HTTP {status} {name}: {message}" if name else f"HTTP {status}: {message}"
    return classify_error_name(name, status), text[:MAX_ERROR_CHARS]


def http_error_response(status: int, headers: Mapping[str, str], body: bytes) -> InvocationResponse:
    """The record of an error answer (`headers` looked up case-insensitively,
    as `httpx.Headers` are; a plain dict should have lower-case keys)."""
    error_class, message = describe_http_error(status, headers.get("x-amzn-errortype"), body)
    request_id = headers.get("x-amzn-requestid") or None
    return InvocationResponse.error_output(message, error_class, status_code=status, id=request_id)
