"""What Bedrock's and SageMaker's runtime APIs share: the signature check, errors
(rest-json: the type in ``x-amzn-ErrorType``, ``{"message": ...}`` as body) and
the headers of their event streams.

The server checks that a request is signed the SigV4 way for the right service
(``Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
SignedHeaders=..., Signature=...`` and ``X-Amz-Date``), as AWS refuses unsigned
requests; it never verifies the signature.
"""

from __future__ import annotations

import uuid

import orjson

from ._dialect import Headers, Reply, header
from ._eventstream import CONTENT_TYPE
from ._requests import ApiError

__all__ = ["check_signed", "error_reply", "event_stream_headers", "is_aws_type", "json_headers"]

_SIGV4 = "AWS4-HMAC-SHA256 "


def request_id() -> bytes:
    return str(uuid.uuid4()).encode()


def is_aws_type(name: str) -> bool:
    """Whether an `ApiError` type names an AWS error (``ThrottlingException``), not
    one of OpenAI's (``invalid_request_error``)."""
    return name[:1].isupper()


def _refuse(status: int, kind: str, message: str) -> ApiError:
    return ApiError(status, message, type=kind)


def check_signed(headers: Headers, service: str, *, bearer: bool = False) -> None:
    """Refuse a request that is not SigV4-signed for `service` (or, with `bearer`,
    carries no ``Authorization: Bearer`` API key, as Bedrock also accepts)."""
    raw = header(headers, b"authorization")
    if raw is None:
        raise _refuse(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    value = raw.decode("latin-1")
    if bearer and value.startswith("Bearer ") and value[7:].strip():
        return
    if not value.startswith(_SIGV4):
        raise _refuse(
            403, "IncompleteSignatureException", "Authorization header is not AWS4-HMAC-SHA256"
        )
    fields = {}
    for part in value[len(_SIGV4) :].split(","):
        name, _, field = part.strip().partition("=")
        fields[name] = field
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise _refuse(
                403,
                "IncompleteSignatureException",
                f"Authorization header requires '{name}' parameter.",
            )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise _refuse(403, "IncompleteSignatureException", "Credential is malformed.")
    if scope[3] != service:
        raise _refuse(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if header(headers, b"x-amz-date") is None and header(headers, b"date") is None:
        raise _refuse(
            403,
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )


def json_headers(*extra: tuple[bytes, bytes]) -> Headers:
    """The headers of a whole JSON answer."""
    return [(b"content-type", b"application/json"), (b"x-amzn-requestid", request_id()), *extra]


def event_stream_headers(*extra: tuple[bytes, bytes]) -> Headers:
    """The headers of an event-stream answer."""
    return [(b"content-type", CONTENT_TYPE), (b"x-amzn-requestid", request_id()), *extra]


def error_reply(status: int, kind: str, body: dict[str, object]) -> Reply:
    """A rest-json error: `kind` in ``x-amzn-ErrorType``, `body` as JSON."""
    headers = [
        (b"x-amzn-errortype", kind.encode()),
        (b"x-amzn-requestid", request_id()),
        (b"content-type", b"application/json"),
    ]
    return status, headers, orjson.dumps(body)
